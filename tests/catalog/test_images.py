"""Product images: upload checks over the API, and the real ``images.process`` job.

Images are made in memory with Pillow; jobs run through the platform's runner
(``run_job_inline``) or a real Celery worker fed by the relay.
"""

import io
import os
import zlib
from pathlib import Path

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.utils import timezone
from PIL import ExifTags, Image, ImageCms
from rest_framework.test import APIClient

import jobs
from catalog import cache, images, services
from catalog.admin import _image_url
from catalog.models import Product
from jobs.enums import JobStatus, Priority
from jobs.models import JobRecord
from jobs.runner import run_job_inline
from tests.factories import ProductFactory, SellerFactory, StaffFactory, UserFactory
from tests.jobs.conftest import (  # noqa: F401 - fixtures
    purge_broker,
    relay,
    thread_worker,
    wait_until,
)

pytestmark = pytest.mark.django_db

NOT_AN_IMAGE = "Upload a JPEG, PNG or WebP image."


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path) -> Path:
    """Every test writes into its own media directory, never the repository's."""
    settings.MEDIA_ROOT = str(tmp_path / "media")
    return tmp_path / "media"


@pytest.fixture(autouse=True)
def _closed_breaker():
    cache.breaker.reset()
    yield
    cache.breaker.reset()


def encode(image: Image.Image, fmt: str = "JPEG", **options) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **options)
    return out.getvalue()


def photo(width: int = 2400, height: int = 1600, **options) -> bytes:
    """A JPEG of noise (so it does not compress to nothing)."""
    pixels = Image.frombytes("RGB", (width, height), os.urandom(width * height * 3))
    return encode(pixels, "JPEG", quality=85, **options)


def spy_exif(orientation: int = 1) -> Image.Exif:
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "SpyCam"
    exif[ExifTags.Base.Model] = "Model 7"
    exif[ExifTags.Base.ImageDescription] = "home address"
    exif[ExifTags.Base.Orientation] = orientation
    return exif


def png_bomb(width: int = 100_000, height: int = 100_000) -> bytes:
    """A tiny PNG whose header claims ``width`` x ``height`` pixels."""
    data = bytearray(encode(Image.new("L", (1, 1)), "PNG"))
    data[16:24] = width.to_bytes(4, "big") + height.to_bytes(4, "big")
    data[29:33] = zlib.crc32(bytes(data[12:29])).to_bytes(4, "big")
    return bytes(data)


def client_for(user=None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_login(user)
    return client


def upload(client, product, data: bytes, name: str = "photo.jpg", **fields):
    file = SimpleUploadedFile(name, data, content_type="image/jpeg")
    return client.post(
        f"/api/products/{product.id}/images",
        {"image": file, **fields},
        format="multipart",
    )


def stored_files(root: Path, under: str) -> list[str]:
    base = root / under
    if not base.exists():
        return []
    return sorted(str(p.relative_to(root)) for p in base.rglob("*") if p.is_file())


def open_variant(url: str) -> tuple[Image.Image, bytes]:
    name = url.removeprefix("/media/")
    with default_storage.open(name, "rb") as fh:
        data = fh.read()
    return Image.open(io.BytesIO(data)), data


# --- Upload: status, job, permissions ----------------------------------------------


def test_owner_upload_is_202_with_a_medium_job_for_the_stored_upload(media_root):
    product = ProductFactory()

    response = upload(client_for(product.seller), product, photo(300, 200))

    assert response.status_code == 202
    assert set(response.json()) == {"job_id"}
    job = JobRecord.objects.get()
    assert str(job.pk) == response.json()["job_id"]
    assert (job.type, job.priority, job.status) == (
        "images.process",
        Priority.MEDIUM,
        JobStatus.QUEUED,
    )
    assert job.user == product.seller
    assert job.payload["product_id"] == product.id
    path = job.payload["path"]
    assert path.startswith("tmp/uploads/") and path.endswith(".jpg")
    assert stored_files(media_root, "tmp") == [path]


def test_the_extension_comes_from_the_content_not_the_name(media_root):
    product = ProductFactory()
    png = encode(Image.new("RGB", (40, 30), "red"), "PNG")

    response = upload(client_for(product.seller), product, png, name="evil.php")

    assert response.status_code == 202
    assert JobRecord.objects.get().payload["path"].endswith(".png")


@pytest.mark.parametrize(
    ("who", "status"),
    [("owner", 202), ("staff", 202), ("other_seller", 403), ("shopper", 403)],
)
def test_who_may_upload(who, status):
    product = ProductFactory()
    user = {
        "owner": product.seller,
        "staff": StaffFactory(),
        "other_seller": SellerFactory(),
        "shopper": UserFactory(),
    }[who]

    response = upload(client_for(user), product, photo(64, 48))

    assert response.status_code == status
    if status == 403:
        assert response.json()["code"] == "permission_denied"
    assert JobRecord.objects.count() == (1 if status == 202 else 0)


def test_anonymous_is_401_and_an_unseen_product_is_404():
    product = ProductFactory()
    hidden = ProductFactory(is_active=False)

    anonymous = upload(client_for(), product, photo(64, 48))
    unseen = upload(client_for(SellerFactory()), hidden, photo(64, 48))
    missing = client_for(StaffFactory()).post(
        "/api/products/999999/images/",
        {"image": SimpleUploadedFile("a.jpg", photo(64, 48))},
        format="multipart",
    )

    assert (anonymous.status_code, anonymous.json()["code"]) == (
        401,
        "not_authenticated",
    )
    assert unseen.status_code == missing.status_code == 404
    assert JobRecord.objects.count() == 0


# --- Upload: validation ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "error"),
    [
        (b"just some text, honestly a jpeg\n" * 20, NOT_AN_IMAGE),
        (encode(Image.new("RGB", (40, 30)), "GIF"), NOT_AN_IMAGE),
        (encode(Image.new("RGB", (40, 30)), "BMP"), NOT_AN_IMAGE),
        (b"\xff\xd8\xff\xe0" + b"\x00" * 40, NOT_AN_IMAGE),  # JPEG magic, no header
        (b"RIFF\x10\x00\x00\x00WEBPVP8 garbage", NOT_AN_IMAGE),
        (png_bomb(), "The image has more than 40000000 pixels (width x height)."),
    ],
    ids=["text-named-jpg", "gif", "bmp", "jpeg-magic-only", "webp-garbage", "bomb"],
)
def test_non_images_and_bombs_are_400_field_errors(media_root, data, error):
    product = ProductFactory()

    response = upload(client_for(product.seller), product, data)

    assert response.status_code == 400
    assert response.json() == {"image": [error]}
    assert JobRecord.objects.count() == 0
    assert stored_files(media_root, "tmp") == []


def test_missing_empty_and_unknown_fields_are_400():
    product = ProductFactory()
    client = client_for(product.seller)
    url = f"/api/products/{product.id}/images/"

    missing = client.post(url, {}, format="multipart")
    empty = upload(client, product, b"")
    text = client.post(url, {"image": "not a file"}, format="multipart")
    extra = upload(client, product, photo(64, 48), caption="hi")
    json_body = client.post(url, {"image": "x"}, format="json")

    assert (missing.status_code, missing.json()) == (
        400,
        {"image": ["No file was submitted."]},
    )
    assert (empty.status_code, empty.json()) == (
        400,
        {"image": ["The submitted file is empty."]},
    )
    assert text.status_code == 400
    assert list(text.json()) == ["image"]
    assert (extra.status_code, extra.json()) == (400, {"caption": ["Unknown field."]})
    assert json_body.status_code == 415
    assert JobRecord.objects.count() == 0


def test_too_many_bytes_is_413(settings, media_root):
    settings.PRODUCT_IMAGE_MAX_BYTES = 2000
    product = ProductFactory()

    response = upload(client_for(product.seller), product, photo(200, 200))

    assert response.status_code == 413
    assert response.json() == {
        "detail": "The image file exceeds 2000 bytes.",
        "code": "payload_too_large",
    }
    assert stored_files(media_root, "tmp") == []


def test_uploads_may_exceed_the_json_body_limit_up_to_their_own(settings):
    # given a general body limit far below the image limit
    settings.API_MAX_BODY_BYTES = 10_000
    settings.PRODUCT_IMAGE_MAX_BYTES = 200_000
    product = ProductFactory()
    client = client_for(product.seller)
    # when an image of ~100 KB comes, then another of ~360 KB
    accepted = upload(client, product, photo(400, 320))
    refused = upload(client, product, photo(800, 600))
    json_write = client.patch(
        f"/api/products/{product.id}/",
        {"description": "x" * 20_000},
        format="json",
    )
    # then the first is taken, the second refused before parsing
    assert accepted.status_code == 202
    assert (refused.status_code, refused.json()["code"]) == (413, "payload_too_large")
    # and other bodies keep the general limit
    assert (json_write.status_code, json_write.json()["code"]) == (
        413,
        "request_too_large",
    )


def test_too_many_pixels_is_400(settings):
    settings.PRODUCT_IMAGE_MAX_PIXELS = 100
    product = ProductFactory()

    response = upload(client_for(product.seller), product, photo(11, 10))
    small = upload(client_for(product.seller), product, photo(10, 10))

    assert response.status_code == 400
    assert response.json() == {
        "image": ["The image has more than 100 pixels (width x height)."]
    }
    assert small.status_code == 202


# --- The job ------------------------------------------------------------------------


def _upload_and_get_job(product, data: bytes, name: str = "photo.jpg") -> JobRecord:
    response = upload(client_for(product.seller), product, data, name=name)
    assert response.status_code == 202, response.json()
    return JobRecord.objects.get(pk=response.json()["job_id"])


@pytest.mark.django_db(transaction=True)
def test_a_real_worker_makes_the_variants_and_the_next_reads_show_them(
    thread_worker,  # noqa: F811
    relay,  # noqa: F811
    media_root,
):
    # given a product whose list and detail pages are cached
    product = ProductFactory(image_url="")
    reader = APIClient()
    detail_url, list_url = f"/api/products/{product.id}/", "/api/products/"
    for url in (detail_url, list_url):
        assert reader.get(url)["X-Cache"] == "MISS"
        assert reader.get(url)["X-Cache"] == "HIT"
    thread_worker(queues=["medium"])
    relay()
    # when its seller uploads a 2400 x 1600 photo full of metadata
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    source = photo(
        2400,
        1600,
        exif=spy_exif(),
        icc_profile=srgb,
        comment=b"secret comment",
        xmp=b"<x:xmpmeta>secret xmp</x:xmpmeta>",
    )
    assert all(s in source for s in (b"SpyCam", b"secret comment", b"secret xmp"))
    assert Image.open(io.BytesIO(source)).info["icc_profile"] == srgb
    response = upload(client_for(product.seller), product, source)
    assert response.status_code == 202
    job_id = response.json()["job_id"]
    job = wait_until(
        lambda: JobRecord.objects.filter(
            pk=job_id, status__in=[JobStatus.SUCCEEDED, JobStatus.FAILED]
        ).first()
    )
    assert job.status == JobStatus.SUCCEEDED, job.error
    # then the next read of the detail is rebuilt and lists three WebP variants
    detail = reader.get(detail_url)
    assert detail["X-Cache"] == "MISS"
    data = detail.json()
    prefix = f"/media/products/{product.id}/{job_id}/"
    assert data["images"] == [
        {"size": "full", "url": f"{prefix}full.webp", "width": 1600, "height": 1067},
        {"size": "card", "url": f"{prefix}card.webp", "width": 600, "height": 400},
        {
            "size": "thumbnail",
            "url": f"{prefix}thumbnail.webp",
            "width": 200,
            "height": 133,
        },
    ]
    assert data["image_url"] == f"{prefix}card.webp"
    # and so is the list, which shows the card
    listed = reader.get(list_url)
    assert listed["X-Cache"] == "MISS"
    assert listed.json()["results"][0]["image_url"] == f"{prefix}card.webp"
    assert "images" not in listed.json()["results"][0]
    # and every variant is a WebP of its size without any of the metadata
    for entry in data["images"]:
        variant, raw = open_variant(entry["url"])
        assert variant.format == "WEBP"
        assert variant.size == (entry["width"], entry["height"])
        assert not {"exif", "icc_profile", "xmp"} & set(variant.info)
        assert not variant.getexif()
        for secret in (b"SpyCam", b"home address", b"secret"):
            assert secret not in raw
    # and the temporary upload is gone
    assert stored_files(media_root, "tmp") == []
    assert job.result["applied"] is True


@pytest.mark.django_db(transaction=True)
def test_a_small_source_is_turned_upright_and_never_upscaled():
    # given a 300 x 200 photo whose EXIF says "rotate 90 degrees clockwise"
    product = ProductFactory()
    job = _upload_and_get_job(product, photo(300, 200, exif=spy_exif(orientation=6)))
    # when the job runs
    assert run_job_inline(str(job.pk)) == JobStatus.SUCCEEDED
    # then the variants are upright (portrait) and none is larger than the source
    product.refresh_from_db()
    assert [(i["size"], i["width"], i["height"]) for i in product.images] == [
        ("full", 200, 300),
        ("card", 200, 300),
        ("thumbnail", 133, 200),
    ]


@pytest.mark.parametrize(
    ("source", "mode"),
    [
        (encode(Image.new("RGBA", (300, 200), (10, 20, 30, 128)), "PNG"), "RGBA"),
        (encode(Image.new("RGBA", (300, 200), (10, 20, 30, 255)), "PNG"), "RGB"),
        (encode(Image.new("LA", (300, 200), (90, 40)), "PNG"), "RGBA"),
        (encode(Image.new("I;16", (300, 200), 40000), "PNG"), "RGB"),
        (encode(Image.new("CMYK", (300, 200), (0, 255, 0, 0)), "JPEG"), "RGB"),
        (encode(Image.new("L", (300, 200), 100), "JPEG"), "RGB"),
        (encode(Image.new("RGB", (300, 200), "red"), "WEBP"), "RGB"),
    ],
    ids=["rgba", "opaque-rgba", "la", "png16", "cmyk", "grey", "webp"],
)
def test_every_accepted_mode_renders_as_rgb_or_rgba(source, mode):
    variants = images.image_render(source)

    assert [(v.size, v.width, v.height) for v in variants] == [
        ("full", 300, 200),
        ("card", 300, 200),
        ("thumbnail", 200, 133),
    ]
    for variant in variants:
        decoded = Image.open(io.BytesIO(variant.data))
        assert (decoded.format, decoded.mode) == ("WEBP", mode)


def test_sixteen_bit_grey_is_scaled_not_clipped():
    source = encode(Image.new("I;16", (50, 50), 40000), "PNG")

    thumbnail = Image.open(io.BytesIO(images.image_render(source)[-1].data))

    red, green, blue = thumbnail.convert("RGB").getpixel((25, 25))
    assert abs(red - 40000 // 256) <= 2 and red == green == blue


@pytest.mark.django_db(transaction=True)
def test_a_truncated_jpeg_fails_the_job_for_good_and_changes_nothing(media_root):
    # given a JPEG cut in half: its header passes the upload's checks
    product = ProductFactory(image_url="https://img.example.com/old.jpg")
    before = Product.objects.get(pk=product.pk)
    source = photo(800, 600)
    job = _upload_and_get_job(product, source[: len(source) // 2])
    # when the job runs
    status = run_job_inline(str(job.pk))
    # then it fails at once (no retry can help) and the product is untouched
    assert status == JobStatus.FAILED
    job.refresh_from_db()
    assert job.attempts == 1
    assert job.error == (
        "PermanentJobError: The image could not be decoded; it may be corrupt or "
        "truncated."
    )
    after = Product.objects.get(pk=product.pk)
    assert (after.images, after.image_url, after.updated_at) == (
        [],
        "https://img.example.com/old.jpg",
        before.updated_at,
    )
    assert stored_files(media_root, "products") == []


@pytest.mark.django_db(transaction=True)
def test_limits_are_enforced_again_by_the_job(settings, media_root):
    # given an upload accepted under the old limits
    product = ProductFactory()
    job = _upload_and_get_job(product, photo(100, 100))
    # when the limit shrinks before the job runs
    settings.PRODUCT_IMAGE_MAX_PIXELS = 5000
    # then the job refuses it for good
    assert run_job_inline(str(job.pk)) == JobStatus.FAILED
    job.refresh_from_db()
    assert "more than 5000 pixels" in job.error
    assert Product.objects.get(pk=product.pk).images == []
    assert stored_files(media_root, "products") == []


@pytest.mark.django_db(transaction=True)
def test_running_the_job_twice_is_idempotent(media_root):
    # given a job that succeeded
    product = ProductFactory()
    source = photo(900, 600)
    job = _upload_and_get_job(product, source)
    path = job.payload["path"]
    assert run_job_inline(str(job.pk)) == JobStatus.SUCCEEDED
    first = Product.objects.get(pk=product.pk)
    files = stored_files(media_root, "products")
    mtimes = [(media_root / name).stat().st_mtime_ns for name in files]
    # when the very same job runs again after it finished...
    JobRecord.objects.filter(pk=job.pk).update(status=JobStatus.QUEUED, attempts=0)
    assert run_job_inline(str(job.pk)) == JobStatus.SUCCEEDED
    # ...and once more as if the first run had died before deleting its upload
    default_storage.save(path, io.BytesIO(source))
    JobRecord.objects.filter(pk=job.pk).update(status=JobStatus.QUEUED, attempts=0)
    assert run_job_inline(str(job.pk)) == JobStatus.SUCCEEDED
    # then the product holds the same set, no file was added or rewritten
    again = Product.objects.get(pk=product.pk)
    assert (again.images, again.image_url) == (first.images, first.image_url)
    assert len(files) == 3
    assert stored_files(media_root, "products") == files
    assert [(media_root / name).stat().st_mtime_ns for name in files] == mtimes
    assert stored_files(media_root, "tmp") == []


@pytest.mark.django_db(transaction=True)
def test_an_older_upload_finishing_last_does_not_replace_a_newer_one(media_root):
    # given two uploads, the second one newer
    product = ProductFactory()
    older = _upload_and_get_job(product, photo(400, 300))
    newer = _upload_and_get_job(product, photo(300, 400))
    # when the newer job finishes first
    assert run_job_inline(str(newer.pk)) == JobStatus.SUCCEEDED
    assert run_job_inline(str(older.pk)) == JobStatus.SUCCEEDED
    # then the product keeps the newer set and the older variants are dropped
    product.refresh_from_db()
    assert product.images[0]["url"].startswith(
        f"/media/products/{product.id}/{newer.pk}/"
    )
    older.refresh_from_db()
    assert older.result["applied"] is False
    assert {
        Path(name).parent.name for name in stored_files(media_root, "products")
    } == {str(newer.pk)}


@pytest.mark.django_db(transaction=True)
def test_an_upload_or_product_that_vanished_fails_for_good(media_root):
    product = ProductFactory()
    gone_upload = _upload_and_get_job(product, photo(64, 48))
    default_storage.delete(gone_upload.payload["path"])
    with transaction.atomic():
        forged = jobs.enqueue(
            "images.process",
            {
                "product_id": product.id,
                "path": "../../etc/passwd",
                "uploaded_at": timezone.now().isoformat(),
            },
        )

    assert run_job_inline(str(gone_upload.pk)) == JobStatus.FAILED
    assert run_job_inline(str(forged.pk)) == JobStatus.FAILED
    gone_upload.refresh_from_db()
    forged.refresh_from_db()
    assert gone_upload.error == (
        "PermanentJobError: The uploaded image is no longer available."
    )
    assert forged.error == "PermanentJobError: The job does not name an upload."


def test_the_process_service_rejects_a_product_that_no_longer_exists():
    from catalog.exceptions import ImageUploadGone

    with pytest.raises(ImageUploadGone, match="product no longer exists"):
        services.product_image_process(
            product_id=987654,
            path="tmp/uploads/x.jpg",
            key="k",
            uploaded_at=timezone.now(),
        )


def test_the_admin_accepts_media_paths_and_refuses_scripts_as_image_urls():
    from django.core.exceptions import ValidationError

    _image_url("/media/products/1/abc/card.webp")
    _image_url("https://img.example.com/a.jpg")
    for bad in ("javascript:alert(1)", "//evil.example/a.jpg", "ftp://x/a.jpg"):
        with pytest.raises(ValidationError):
            _image_url(bad)
