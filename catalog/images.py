"""Product images with Pillow: checking uploads and rendering their WebP variants.

Client bytes are hostile. The request checks an upload cheaply (size, magic
bytes, then Pillow's header parse for format and dimensions; no pixel is
decoded); the job decodes it fully and checks everything again, since only a
full decode finds a truncated or corrupt body. Any Pillow failure on client
bytes becomes ``ImageInvalid``, never a crash. No database work here:
``catalog.services`` decides when, this module knows how.
"""

import math
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from io import BytesIO
from typing import IO, TYPE_CHECKING, Any

from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage

from catalog.exceptions import ImageInvalid, ImageTooLarge
from config.storage import storage_write

# Pillow is imported inside the functions that use it, not here: every web
# worker imports this module (through catalog.services), but only an upload
# request or the image job opens an image.
if TYPE_CHECKING:
    from PIL import Image, ImageCms

# Longest side of each variant in pixels, largest first; never upscaled.
VARIANTS = (("full", 1600), ("card", 600), ("thumbnail", 200))
CARD = "card"
WEBP_QUALITY = 82
WEBP_METHOD = 4  # libwebp effort (0-6): its own default balance of size and speed
EXTENSIONS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp"}
TMP_DIR = "tmp"
UPLOAD_DIR = f"{TMP_DIR}/uploads"
VARIANT_DIR = "products"
HEAD_BYTES = 12

NOT_AN_IMAGE = "Upload a JPEG, PNG or WebP image."
UNREADABLE = "The image could not be decoded; it may be corrupt or truncated."

# EXIF orientation -> the Image.Transpose that makes the pixels upright (5-8
# swap sides); names, so that Pillow is not needed to define it.
_UPRIGHT = {
    2: "FLIP_LEFT_RIGHT",
    3: "ROTATE_180",
    4: "FLIP_TOP_BOTTOM",
    5: "TRANSPOSE",
    6: "ROTATE_270",
    7: "TRANSVERSE",
    8: "ROTATE_90",
}
_SWAPS_SIDES = frozenset({5, 6, 7, 8})


@dataclass(frozen=True)
class ImageInfo:
    """What the header of an accepted upload says."""

    format: str  # a key of EXTENSIONS
    width: int
    height: int

    @property
    def extension(self) -> str:
        return EXTENSIONS[self.format]


@dataclass(frozen=True)
class Variant:
    """One rendered size, encoded as WebP."""

    size: str
    width: int
    height: int
    data: bytes


def _sniff(head: bytes) -> str | None:
    """The format the first bytes announce; None for anything we do not accept."""
    if head.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WEBP"
    return None


def _too_many_pixels(limit: int) -> ImageInvalid:
    return ImageInvalid(f"The image has more than {limit} pixels (width x height).")


def _open(fp: IO[bytes], fmt: str) -> "Image.Image":
    """Parse the header of ``fp`` with the decoder of ``fmt`` only; check its size.

    Only the header is read: a 100 000 x 100 000 PNG of a few bytes is refused
    here without allocating anything.
    """
    from PIL import Image

    limit = settings.PRODUCT_IMAGE_MAX_PIXELS
    # Pillow's own bomb guard, at our limit: it refuses twice the limit in
    # open() and warns above it; the exact check follows.
    Image.MAX_IMAGE_PIXELS = limit
    try:
        image = Image.open(fp, formats=[fmt])
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise _too_many_pixels(limit) from exc
    except Exception as exc:  # hostile bytes: any parser failure is a refusal
        raise ImageInvalid(NOT_AN_IMAGE) from exc
    width, height = image.size
    if image.format != fmt or width < 1 or height < 1:
        image.close()
        raise ImageInvalid(NOT_AN_IMAGE)
    if width * height > limit:
        image.close()
        raise _too_many_pixels(limit)
    return image


def _check_bytes(size: int) -> None:
    limit = settings.PRODUCT_IMAGE_MAX_BYTES
    if size > limit:
        raise ImageTooLarge(f"The image file exceeds {limit} bytes.")


def image_inspect(*, file: IO[bytes], size: int) -> ImageInfo:
    """Check an upload without decoding it: bytes, magic number, header.

    Raises ImageTooLarge (413) or ImageInvalid (400); leaves ``file`` at 0.
    """
    _check_bytes(size)
    file.seek(0)
    fmt = _sniff(file.read(HEAD_BYTES))
    file.seek(0)
    if fmt is None:
        raise ImageInvalid(NOT_AN_IMAGE)
    try:
        with _open(file, fmt) as image:
            return ImageInfo(format=fmt, width=image.width, height=image.height)
    finally:
        file.seek(0)


# --- Rendering --------------------------------------------------------------------


def image_render(data: bytes) -> list[Variant]:
    """Decode an upload fully and make its variants: upright, sRGB, no metadata.

    Every limit of ``image_inspect`` applies again (the job cannot trust what
    was stored). Raises ImageTooLarge or ImageInvalid.
    """
    _check_bytes(len(data))
    fmt = _sniff(data[:HEAD_BYTES])
    if fmt is None:
        raise ImageInvalid(NOT_AN_IMAGE)
    try:
        with _open(BytesIO(data), fmt) as image:
            return _render(image)
    except ImageInvalid:
        raise
    except Exception as exc:  # a decoder failing on hostile bytes
        raise ImageInvalid(UNREADABLE) from exc


def _render(image: "Image.Image") -> list[Variant]:
    from PIL import Image

    width, height = image.size
    longest = max(width, height)
    largest = VARIANTS[0][1]
    if longest > largest:
        # JPEG can decode at 1/2, 1/4 or 1/8 scale as long as the result stays
        # at least this big: a 40 MP photo then costs a fraction of the memory.
        scale = largest / longest
        image.draft(None, (math.ceil(width * scale), math.ceil(height * scale)))
    image.load()
    image, swapped = _upright(image)
    if swapped:
        width, height = height, width
    image = _rgb(image)
    variants = []
    for name, edge in VARIANTS:
        scale = min(1.0, edge / longest)
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        if image.size != size:
            # Each size from the previous (larger) one: cheaper, same quality.
            image = image.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)
        variants.append(Variant(name, size[0], size[1], _webp(image)))
    return variants


def _upright(image: "Image.Image") -> tuple["Image.Image", bool]:
    """Apply the EXIF orientation; True when it swapped width and height."""
    from PIL import ExifTags, Image

    try:
        orientation = image.getexif().get(ExifTags.Base.Orientation, 1)
    except Exception:  # malformed EXIF: keep the pixels as stored
        return image, False
    if orientation not in _UPRIGHT:
        return image, False
    transpose = Image.Transpose[_UPRIGHT[orientation]]
    return image.transpose(transpose), orientation in _SWAPS_SIDES


@cache
def _srgb() -> "ImageCms.ImageCmsProfile":
    from PIL import ImageCms

    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))


def _rgb(image: "Image.Image") -> "Image.Image":
    """RGB, or RGBA when the image has real transparency, in sRGB.

    An embedded colour profile is applied before it is dropped with the other
    metadata, so wide-gamut photos keep their colours.
    """
    from PIL import ImageCms

    alpha = image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
    target = "RGBA" if alpha else "RGB"
    icc = image.info.get("icc_profile")
    if image.mode.startswith("I"):
        # 16-bit greyscale: scale to 8 bits (a plain convert would clip).
        image = image.convert("I").point(lambda value: value * (1 / 256)).convert("L")
    converted = None
    if icc and image.mode in ("RGB", "RGBA", "CMYK", "L"):
        try:
            source = ImageCms.ImageCmsProfile(BytesIO(icc))
            converted = ImageCms.profileToProfile(
                image, source, _srgb(), outputMode=target
            )
        except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
            converted = None  # an unusable profile: read the values as sRGB
    if converted is None:
        converted = image if image.mode == target else image.convert(target)
    if target == "RGBA" and converted.getchannel("A").getextrema()[0] == 255:
        converted = converted.convert("RGB")  # opaque after all: no alpha plane
    return converted


def _webp(image: "Image.Image") -> bytes:
    """Encode without metadata: no EXIF, XMP or ICC profile is passed on."""
    image.info = {}
    out = BytesIO()
    image.save(out, "WEBP", quality=WEBP_QUALITY, method=WEBP_METHOD)
    return out.getvalue()


# --- Storage ----------------------------------------------------------------------


def upload_store(*, file: File, info: ImageInfo) -> str:
    """Keep an accepted upload under ``tmp/uploads/`` until its job runs.

    The name is random and the extension comes from the content, never from
    the client's file name. Returns the storage name.
    """
    file.seek(0)
    name = f"{UPLOAD_DIR}/{uuid.uuid4().hex}.{info.extension}"
    return default_storage.save(name, file)


def upload_is_ours(path: str) -> bool:
    """Payloads name a file under tmp/uploads/ and nothing else."""
    return path.startswith(f"{UPLOAD_DIR}/") and ".." not in path


def tmp_files(root: str = TMP_DIR) -> Iterator[tuple[str, datetime]]:
    """Every file under ``tmp/`` in storage with its modification time."""
    try:
        directories, files = default_storage.listdir(root)
    except FileNotFoundError:
        return
    for name in files:
        path = f"{root}/{name}"
        try:
            yield path, default_storage.get_modified_time(path)
        except FileNotFoundError:  # removed meanwhile
            continue
    for directory in directories:
        yield from tmp_files(f"{root}/{directory}")


def upload_exists(path: str) -> bool:
    return default_storage.exists(path)


def upload_read(path: str) -> bytes:
    """The stored upload's bytes (at most the byte limit plus one is read)."""
    _check_bytes(default_storage.size(path))
    with default_storage.open(path, "rb") as fh:
        data = fh.read(settings.PRODUCT_IMAGE_MAX_BYTES + 1)
    _check_bytes(len(data))
    return data


def upload_delete(path: str) -> None:
    default_storage.delete(path)


def variant_name(*, product_id: int, key: str, size: str) -> str:
    return f"{VARIANT_DIR}/{product_id}/{key}/{size}.webp"


def variant_urls(*, product_id: int, key: str) -> list[str]:
    """The URLs a set stored under ``key`` has, in VARIANTS order."""
    return [
        default_storage.url(variant_name(product_id=product_id, key=key, size=name))
        for name, _ in VARIANTS
    ]


def variants_store(
    variants: Sequence[Variant], *, product_id: int, key: str
) -> list[dict[str, Any]]:
    """Write each variant under its fixed name; return ``[{size, url, width, height}]``.

    The names depend only on the product and ``key`` (the job id), so a retry
    writes the same files: an identical file is left alone, a different one
    (a half-written earlier attempt) replaced, and nothing is ever renamed.
    """
    stored = []
    for variant in variants:
        name = variant_name(product_id=product_id, key=key, size=variant.size)
        storage_write(name, variant.data)
        stored.append(
            {
                "size": variant.size,
                "url": default_storage.url(name),
                "width": variant.width,
                "height": variant.height,
            }
        )
    return stored


def variants_delete(*, product_id: int, key: str) -> None:
    for name, _ in VARIANTS:
        default_storage.delete(variant_name(product_id=product_id, key=key, size=name))
