"""What a family may upload: a PDF, JPEG or PNG, told by its content (magic numbers, then a
full decode under limits), never by its name. A pure function over bytes: it answers the
media type or raises a DocumentRefusedError naming why."""

from __future__ import annotations

import filetype

from integrations.documents.errors import (
    DamagedDocumentError,
    DocumentTooLargeError,
    TypeMismatchError,
    UnsupportedTypeError,
)
from integrations.documents.images import check_image
from integrations.documents.limits import ContentLimits
from integrations.documents.pdf import check_pdf

PDF, JPEG, PNG = "application/pdf", "image/jpeg", "image/png"
ACCEPTED = (PDF, JPEG, PNG)
ALIASES = {"image/jpg": JPEG, "image/pjpeg": JPEG, "image/x-png": PNG}  # old browsers' names
EXTENSIONS = {"pdf": PDF, "jpg": JPEG, "jpeg": JPEG, "jpe": JPEG, "png": PNG}


def declared_type(value: str) -> str:
    """A Content-Type as compared: lower case, without parameters, aliases resolved."""
    media = value.split(";")[0].strip().lower()
    return ALIASES.get(media, media)


def check_content(data: bytes, declared: str, name: str, limits: ContentLimits) -> str:
    """The media type of `data` (one of ACCEPTED) once it is found to be that type whole,
    within the limits; `declared` (the sender's Content-Type) and the extension of `name`,
    when it has a known one, must say the same type."""
    if len(data) > limits.max_bytes:
        raise DocumentTooLargeError(
            f"The file is over {limits.max_bytes} bytes", max_bytes=limits.max_bytes
        )
    if not data:
        raise DamagedDocumentError("The file is empty")
    found = content_type(data)
    _same_type(found, declared_type(declared), name)
    if found == PDF:
        check_pdf(data, limits)
    else:
        check_image(data, found, limits.max_pixels)
    return found


def content_type(data: bytes) -> str:
    """The type the content's own signature says, if it is one we accept."""
    kind = filetype.guess(data)
    mime = str(kind.mime) if kind is not None else ""
    if mime not in ACCEPTED:
        shown = f" (it is {mime})" if mime else ""
        raise UnsupportedTypeError(
            f"Only PDF, JPEG and PNG files are accepted{shown}",
            accepted=list(ACCEPTED),
            found=mime or None,
        )
    return mime


def _same_type(found: str, declared: str, name: str) -> None:
    if declared != found:
        raise TypeMismatchError(
            f"The file was sent as {declared or 'no type'}, but its content is {found}",
            declared=declared or None,
            found=found,
        )
    extension = name.rsplit(".", 1)[1].lower() if "." in name else ""
    named = EXTENSIONS.get(extension)
    if named is not None and named != found:
        raise TypeMismatchError(
            f"The file is named .{extension}, but its content is {found}",
            declared=named,
            found=found,
        )
