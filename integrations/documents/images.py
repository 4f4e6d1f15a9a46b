"""JPEG and PNG uploads: their size in pixels checked from the header, then decoded whole
with Pillow, so a decompression bomb is refused before it is inflated and a damaged file
before it is kept."""

from __future__ import annotations

import io

from PIL import Image

from integrations.documents.errors import (
    DamagedDocumentError,
    DecompressionBombError,
    DocumentRefusedError,
)

FORMATS = {"image/jpeg": "JPEG", "image/png": "PNG"}


def check_image(data: bytes, media_type: str, max_pixels: int) -> None:
    """Refuse an image over `max_pixels` (read from its header) or one that does not decode."""
    try:
        with Image.open(io.BytesIO(data), formats=[FORMATS[media_type]]) as image:
            width, height = image.size
            if width * height > max_pixels:
                raise _bomb(width, height, max_pixels)
            image.load()
    except Image.DecompressionBombError:
        # Pillow's own guard (twice its MAX_IMAGE_PIXELS) fired while reading the header
        raise DecompressionBombError(
            "The image declares more pixels than are accepted", max_pixels=max_pixels
        ) from None
    except DocumentRefusedError:
        raise
    except Exception as exc:  # whatever Pillow raises, the file is not kept
        raise DamagedDocumentError(
            f"The {FORMATS[media_type]} image does not decode: {type(exc).__name__}"
        ) from None


def _bomb(width: int, height: int, max_pixels: int) -> DecompressionBombError:
    return DecompressionBombError(
        f"The image is {width} x {height} pixels; at most {max_pixels} pixels are accepted",
        width=width,
        height=height,
        max_pixels=max_pixels,
    )
