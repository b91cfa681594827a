"""Photos of things: checked by decoding, never by name or header; decoded
under a pixel limit (JPEG with ``draft()``, so a phone photo is decoded at a
reduced scale instead of taking 150 MB), turned upright, and re-encoded from
the pixels as WebP in two sizes, which leaves EXIF and location behind.

All of this is slow and runs before the write unit."""

from __future__ import annotations

import hashlib
import io
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

from ..i18n import _
from .errors import LendingError

MAX_UPLOAD = 10 * 1000 * 1000  # bytes of one upload request
MAX_PIXELS = 40_000_000  # about 40 megapixels
FORMATS = {"JPEG", "PNG", "WEBP"}
LARGE, SMALL = 640, 160  # the longest side of each size: a phone screen, a thumbnail
QUALITY = {LARGE: 70, SMALL: 50}


@dataclass(frozen=True)
class Processed:
    content_hash: str
    small: bytes
    large: bytes


def _open(data: bytes) -> Image.Image:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            if image.format not in FORMATS:
                raise LendingError(_("Choose a photo: JPEG, PNG or WebP."), "photo")
            width, height = image.size
            if width * height > MAX_PIXELS or width < 1 or height < 1 or max(width, height) > 20000:
                raise LendingError(_("That image is too large (about 40 megapixels at most)."), "photo")
            if image.format == "JPEG":
                # Decode at a reduced scale: enough for the large size.
                image.draft("RGB", (LARGE * 2, LARGE * 2))
            image.load()
            return image
    except LendingError:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError,
            Image.DecompressionBombWarning, EOFError):
        raise LendingError(_("That file is not a photo we can read: JPEG, PNG or WebP."), "photo") from None


def _encode(image: Image.Image, side: int) -> bytes:
    copy = image.copy()
    copy.thumbnail((side, side), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    # Only the pixels go out: no exif=, no icc_profile=, no xmp=.
    copy.save(out, "WEBP", quality=QUALITY[side], method=4)
    return out.getvalue()


def process(data: bytes) -> Processed:
    """:raise LendingError: not an image we take, or of absurd dimensions."""
    if not data:
        raise LendingError(_("Choose a photo: JPEG, PNG or WebP."), "photo")
    if len(data) > MAX_UPLOAD:
        raise LendingError(_("That photo is larger than 10 MB."), "photo")
    image = _open(data)
    try:
        image = ImageOps.exif_transpose(image)
    except Exception:  # a broken orientation tag: keep the pixels as they are
        pass
    image = image.convert("RGBA" if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
                          else "RGB")
    large, small = _encode(image, LARGE), _encode(image, SMALL)
    return Processed(hashlib.sha256(large).hexdigest(), small, large)
