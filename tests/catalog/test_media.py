"""Product images are reachable at their URLs under `make run` (no DEBUG)."""

import pytest
from django.test import Client


@pytest.mark.django_db
def test_media_files_are_served_without_debug(settings, tmp_path):
    settings.DEBUG = False
    settings.MEDIA_ROOT = str(tmp_path)
    (tmp_path / "products").mkdir()
    (tmp_path / "products" / "card.webp").write_bytes(b"RIFF....WEBP")

    found = Client().get("/media/products/card.webp")
    missing = Client().get("/media/products/nothing.webp")
    escape = Client().get("/media/../config/settings/base.py")

    assert found.status_code == 200
    assert found["Content-Type"] == "image/webp"
    assert b"".join(found.streaming_content) == b"RIFF....WEBP"
    assert missing.status_code == 404
    assert escape.status_code in (400, 404)  # never the file
