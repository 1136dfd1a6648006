"""``cleanup_tmp``: stale files under MEDIA_ROOT/tmp/ go, fresh ones and
uploads a pending image job still needs stay, nothing outside tmp/ is touched."""

import os
import time
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.utils import timezone

import jobs
from catalog.services import IMAGE_JOB, tmp_cleanup
from jobs.enums import JobStatus
from jobs.models import JobRecord

pytestmark = pytest.mark.django_db

DAY = 86_400


@pytest.fixture
def media_root(settings, tmp_path) -> Path:
    settings.MEDIA_ROOT = str(tmp_path / "media")
    return tmp_path / "media"


def write(root: Path, name: str, *, age_hours: float) -> Path:
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x")
    stamp = time.time() - age_hours * 3600
    os.utime(path, (stamp, stamp))
    return path


def test_removes_exactly_the_stale_temporary_files(media_root):
    # given stale and fresh files in tmp/ (nested too), a stale upload a
    # queued job still names, one whose job failed, and old files outside tmp/
    stale = write(media_root, "tmp/uploads/old.jpg", age_hours=25)
    nested = write(media_root, "tmp/other/deep/old.bin", age_hours=48)
    fresh = write(media_root, "tmp/uploads/new.jpg", age_hours=23)
    awaited = write(media_root, "tmp/uploads/queued.jpg", age_hours=72)
    abandoned = write(media_root, "tmp/uploads/failed.jpg", age_hours=72)
    product_image = write(media_root, "products/1/card.webp", age_hours=999)
    jobs.enqueue(IMAGE_JOB, {"product_id": 1, "path": "tmp/uploads/queued.jpg"})
    failed = jobs.enqueue(
        IMAGE_JOB, {"product_id": 1, "path": "tmp/uploads/failed.jpg"}
    )
    JobRecord.objects.filter(pk=failed.pk).update(status=JobStatus.FAILED)

    # when
    result = tmp_cleanup(now=timezone.now())

    # then
    assert result == {"deleted": 3, "kept": 1}
    assert [p.exists() for p in (stale, nested, abandoned)] == [False] * 3
    assert [p.exists() for p in (fresh, awaited, product_image)] == [True] * 3


def test_an_empty_or_missing_tmp_is_fine(media_root):
    assert tmp_cleanup(now=timezone.now()) == {"deleted": 0, "kept": 0}


def test_the_command_and_the_job_share_the_service(media_root, settings):
    write(media_root, "tmp/uploads/a.jpg", age_hours=3)
    write(media_root, "tmp/uploads/b.jpg", age_hours=30)
    out = StringIO()

    call_command("cleanup_tmp", "--older-than-hours", "2", stdout=out)

    assert out.getvalue().strip() == "deleted 2 file(s), kept 0 awaiting a job"
    assert not any((media_root / "tmp").rglob("*.jpg"))
