"""Writing generated files (image variants, invoices, exports) to media
storage under names fixed in advance, so a job's retry rewrites its own file
instead of leaving a second one beside it."""

from django.core.files import File
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage


def storage_replace(name: str, content: File) -> None:
    """Save ``content`` under exactly ``name``, replacing a file already there
    (a half-written earlier attempt). Storage would pick another name if one
    appeared meanwhile: that copy is removed and RuntimeError raised, for the
    job's retry to settle."""
    if default_storage.exists(name):
        default_storage.delete(name)
    saved = default_storage.save(name, content)
    if saved != name:
        default_storage.delete(saved)
        raise RuntimeError(f"{name} was written concurrently")


def storage_write(name: str, data: bytes) -> None:
    """Write ``data`` under ``name``; an identical file is left alone, a
    different one replaced."""
    if default_storage.exists(name):
        with default_storage.open(name, "rb") as fh:
            if fh.read() == data:
                return
    storage_replace(name, ContentFile(data))
