"""PDF uploads, read with pypdf under caps: every object the cross-reference names is
parsed, every stream is inflated (all together at most `max_inflated` bytes), and a file with
active content (scripts, launch actions, embedded files, XFA forms) is refused. A PDF that
does not parse, or is encrypted, is refused as damaged: it cannot be inspected."""

from __future__ import annotations

import io
from collections.abc import Iterator

from pypdf import Configuration, PdfReader, apply_configuration, get_configuration
from pypdf.errors import LimitReachedError, PyPdfError
from pypdf.generic import (
    ArrayObject,
    DictionaryObject,
    IndirectObject,
    NameObject,
    PdfObject,
    StreamObject,
)

from integrations.documents.errors import (
    ActiveContentError,
    DamagedDocumentError,
    DecompressionBombError,
)

# Names that make a viewer run, open or submit something (ISO 32000-2 §12.6, §7.11.4, §12.7.8)
ACTIVE = frozenset(
    {"/JavaScript", "/JS", "/Launch", "/EmbeddedFile", "/EmbeddedFiles", "/RichMedia", "/XFA"}
)
# Image codecs pypdf does not inflate: their data is counted as it is (a viewer decodes it)
IMAGE_CODECS = frozenset(
    {"/DCTDecode", "/DCT", "/JPXDecode", "/JBIG2Decode", "/CCITTFaxDecode", "/CCF"}
)
MAX_OBJECTS = 200_000  # objects one PDF may name


def check_pdf(data: bytes, max_inflated: int) -> None:
    """Refuse a PDF that does not parse, inflates past `max_inflated`, or holds active content."""
    try:
        with apply_configuration(_capped(max_inflated)):
            _inspect(PdfReader(io.BytesIO(data), strict=False), max_inflated)
    except LimitReachedError:
        raise _bomb(max_inflated) from None
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, RecursionError) as exc:
        raise DamagedDocumentError(f"The PDF cannot be read: {type(exc).__name__}") from None


def _capped(max_inflated: int) -> Configuration:
    """pypdf's configuration with every decoder's output capped at `max_inflated`."""
    caps = dict.fromkeys(
        (
            "zlib_maximum_output_length",
            "lzw_maximum_output_length",
            "run_length_maximum_output_length",
            "jbig2_maximum_output_length",
            "brotli_maximum_output_length",
            "array_based_stream_maximum_output_length",
            "stream_decoding_work_maximum_length",
            "image_maximum_buffer_size",
        ),
        max_inflated,
    )
    return get_configuration().with_overwrites(
        disable_legacy_handling=True, jbig2dec_binary=None, **caps
    )


def _inspect(reader: PdfReader, max_inflated: int) -> None:
    if reader.is_encrypted:
        raise DamagedDocumentError("The PDF is encrypted: send it without a password")
    inflated = 0
    for obj in _objects(reader):
        for name in _names(obj):
            if name in ACTIVE:
                raise ActiveContentError(
                    f"The PDF holds active content ({name}): send a plain PDF, e.g. printed "
                    "to PDF or scanned",
                    found=name,
                )
        if isinstance(obj, StreamObject):
            inflated += _stream_size(obj)
            if inflated > max_inflated:
                raise _bomb(max_inflated)


def _objects(reader: PdfReader) -> Iterator[PdfObject]:
    """The trailer, then every object the cross-reference tables and streams name."""
    yield reader.trailer
    numbers = [(num, gen) for gen, table in reader.xref.items() for num in table]
    numbers += [(num, 0) for num in reader.xref_objStm]
    if len(numbers) > MAX_OBJECTS:
        raise DamagedDocumentError(f"The PDF names more than {MAX_OBJECTS} objects")
    for num, gen in numbers:
        found = reader.get_object(IndirectObject(num, gen, reader))
        if found is not None:
            yield found


def _names(obj: PdfObject) -> Iterator[str]:
    """Every dictionary key and name value within `obj`, not following references."""
    stack: list[PdfObject] = [obj]
    while stack:
        item = stack.pop()
        if isinstance(item, NameObject):
            yield str(item)
        elif isinstance(item, DictionaryObject):
            yield from (str(key) for key in item)
            stack.extend(item.values())
        elif isinstance(item, ArrayObject):
            stack.extend(item)


def _stream_size(stream: StreamObject) -> int:
    """The stream's bytes once inflated (pypdf decodes under the configured caps); an image
    codec's data as it is."""
    filters = stream.get("/Filter")
    chain = list(filters) if isinstance(filters, ArrayObject) else [filters] if filters else []
    if any(str(f) in IMAGE_CODECS for f in chain):
        return len(getattr(stream, "_data", b""))
    return len(stream.get_data())


def _bomb(max_inflated: int) -> DecompressionBombError:
    return DecompressionBombError(
        f"The PDF's compressed streams inflate to more than {max_inflated} bytes",
        max_inflated=max_inflated,
    )
