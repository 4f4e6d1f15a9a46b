"""Why an upload was refused: one error per reason, each with its problem code."""

from __future__ import annotations

from domain.kernel.errors import DomainError


class DocumentRefusedError(DomainError):
    """An upload that is not kept; the subclass names why (nothing was stored)."""

    code = "document-refused"


class UnsupportedTypeError(DocumentRefusedError):
    """The content is not a PDF, JPEG or PNG (whatever its name or declared type)."""

    code = "unsupported-document-type"


class TypeMismatchError(DocumentRefusedError):
    """The declared type (or the file name's extension) says another type than the content."""

    code = "document-type-mismatch"


class DocumentTooLargeError(DocumentRefusedError):
    """More bytes than the limit; reading stopped there."""

    code = "document-too-large"


class DecompressionBombError(DocumentRefusedError):
    """Small on the wire, huge once decoded: an image over the pixel limit, or a PDF whose
    streams inflate past the cap."""

    code = "decompression-bomb"


class ActiveContentError(DocumentRefusedError):
    """A PDF with scripts, launch actions, embedded files or forms that run code."""

    code = "active-content"


class DamagedDocumentError(DocumentRefusedError):
    """The file claims a type its content does not decode as (truncated, corrupt,
    encrypted)."""

    code = "damaged-document"


class DocumentTooComplexError(DocumentRefusedError):
    """A PDF with more objects than the cap, or one that takes longer than the check's time
    budget to inspect (a small file made of very many objects)."""

    code = "document-too-complex"


class SealedFileMismatchError(Exception):
    """A stored file's sealed content names another case or document than its row: the row
    was swapped or copied at rest. Not a refusal of an upload: the store is not to be
    trusted for this row."""
