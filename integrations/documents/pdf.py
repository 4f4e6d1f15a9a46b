"""PDF uploads, read with pypdf under caps. Every object is parsed: those the
cross-reference names (object streams included), those reached from the trailer by following
references (pypdf, like a viewer, finds an object the cross-reference lacks by searching the
file), and any other `N G obj` in the file's bytes. Every stream is measured inflated (all
together at most `max_inflated` bytes, FlateDecode counted without keeping its output), and a
file with active content (scripts, launch actions, embedded files, XFA forms, actions that
submit or fetch data, a link opened by itself) is refused. A PDF that does not parse, or is
encrypted, is refused as damaged; one with more objects than `max_objects`, or that takes
longer than `max_seconds` to inspect, as too complex."""

from __future__ import annotations

import io
import re
import time
import zlib
from collections.abc import Callable, Iterator

from pypdf import Configuration, PdfReader, apply_configuration, get_configuration
from pypdf.errors import LimitReachedError
from pypdf.generic import (
    ArrayObject,
    DictionaryObject,
    EncodedStreamObject,
    IndirectObject,
    NameObject,
    PdfObject,
    StreamObject,
    read_object,
)

from integrations.documents.errors import (
    ActiveContentError,
    DamagedDocumentError,
    DecompressionBombError,
    DocumentRefusedError,
    DocumentTooComplexError,
)
from integrations.documents.limits import ContentLimits

# Names that make a viewer run, open, submit or play something, wherever they are
# (ISO 32000-2 §12.6.4, §7.11.4, §12.7.8, §13)
ACTIVE = frozenset(
    {
        "/JavaScript",
        "/JS",
        "/Launch",
        "/EmbeddedFile",
        "/EmbeddedFiles",
        "/RichMedia",
        "/XFA",
        "/SubmitForm",
        "/ImportData",
        "/GoToR",
        "/GoToE",
        "/Movie",
        "/Sound",
        "/Rendition",
    }
)
# Actions refused when they run by themselves (an /OpenAction, or an /AA trigger)
AUTOMATIC = frozenset({"/URI"})
# Image codecs pypdf does not inflate: their data is counted as it is (a viewer decodes it)
IMAGE_CODECS = frozenset(
    {"/DCTDecode", "/DCT", "/JPXDecode", "/JBIG2Decode", "/CCITTFaxDecode", "/CCF"}
)
FLATE = frozenset({"/FlateDecode", "/Fl"})
CHUNK = 256 * 1024  # bytes of inflated output measured at a time, then dropped
MAX_CHAIN = 32  # actions followed through /Next
HEADER = re.compile(rb"(?<![^\s])(\d{1,10})\s+(\d{1,5})\s+obj\s*")  # "N G obj", then its body
Key = tuple[int, int]


def check_pdf(data: bytes, limits: ContentLimits) -> None:
    """Refuse a PDF that does not parse, inflates past the cap, is too complex, or holds
    active content."""
    try:
        with apply_configuration(_capped(limits.max_inflated)):
            reader = PdfReader(io.BytesIO(data), strict=False)
            if reader.is_encrypted:
                raise DamagedDocumentError("The PDF is encrypted: send it without a password")
            _Inspection(reader, limits).run(data)
    except LimitReachedError:
        raise _bomb(limits.max_inflated) from None
    except DocumentRefusedError:
        raise
    except Exception as exc:  # whatever pypdf raises, the file is not kept
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


class _Inspection:
    """One PDF's objects, each visited once, under the object cap and the time budget."""

    def __init__(self, reader: PdfReader, limits: ContentLimits) -> None:
        self.reader, self.limits = reader, limits
        self.deadline = time.monotonic() + limits.max_seconds
        self.seen: set[Key] = set()
        self.pending = [(num, gen) for gen, table in reader.xref.items() for num in table]
        self.pending += [(num, 0) for num in reader.xref_objStm]
        self.inflated = 0
        if len(self.pending) > limits.max_objects:
            raise _complex(f"names more than {limits.max_objects} objects")

    def run(self, data: bytes) -> None:
        self._visit(self.reader.trailer)
        self._drain()
        for match in HEADER.finditer(data):  # objects in the body the other ways miss
            key = (int(match[1]), int(match[2]))
            if key not in self.seen:
                self._count(key)
                self._visit(self._parsed_at(match.end()))
                self._drain()

    def _drain(self) -> None:
        """Every pending object, and those they refer to, parsed once."""
        while self.pending:
            key = self.pending.pop()
            if key not in self.seen:
                self._count(key)
                self._visit(self.reader.get_object(IndirectObject(*key, self.reader)))

    def _count(self, key: Key) -> None:
        self.seen.add(key)
        if len(self.seen) > self.limits.max_objects:
            raise _complex(f"holds more than {self.limits.max_objects} objects")
        self._in_time()

    def _in_time(self) -> None:
        if time.monotonic() > self.deadline:
            raise _complex(f"takes more than {self.limits.max_seconds:g} s to check")

    def _parsed_at(self, offset: int) -> PdfObject | None:
        """The object after a header found in the bytes; None when it does not parse
        (the digits were inside some other data)."""
        self.reader.stream.seek(offset)
        try:
            return read_object(self.reader.stream, self.reader)
        except Exception:  # not an object after all
            return None

    def _visit(self, obj: PdfObject | None) -> None:
        """Check one object's names and streams; queue the objects it refers to."""
        stack: list[PdfObject | None] = [obj]
        while stack:
            item = stack.pop()
            if isinstance(item, IndirectObject):
                self.pending.append((item.idnum, item.generation))
            elif isinstance(item, NameObject):
                _refuse_name(str(item))
            elif isinstance(item, DictionaryObject):
                self._dictionary(item)
                stack.extend(dict.values(item))
            elif isinstance(item, ArrayObject):
                stack.extend(item)

    def _dictionary(self, item: DictionaryObject) -> None:
        for key in item:
            _refuse_name(str(key))
        if "/OpenAction" in item:
            _refuse_automatic(item["/OpenAction"], MAX_CHAIN)
        if isinstance(triggers := _resolved(item.get("/AA")), DictionaryObject):
            for action in dict.values(triggers):
                _refuse_automatic(action, MAX_CHAIN)
        if isinstance(item, StreamObject):
            self._measure(item)

    def _measure(self, stream: StreamObject) -> None:
        room = self.limits.max_inflated - self.inflated
        self.inflated += _stream_size(stream, room, self._in_time)
        if self.inflated > self.limits.max_inflated:
            raise _bomb(self.limits.max_inflated)


def _resolved(obj: PdfObject | None) -> PdfObject | None:
    return obj.get_object() if obj is not None else None


def _refuse_name(name: str) -> None:
    if name in ACTIVE:
        raise ActiveContentError(
            f"The PDF holds active content ({name}): send a plain PDF, e.g. printed to PDF "
            "or scanned",
            found=name,
        )


def _refuse_automatic(action: PdfObject | None, depth: int) -> None:
    """An action run without a click (and those it chains with /Next) must not open links."""
    action = _resolved(action)
    if depth <= 0 or not isinstance(action, (DictionaryObject, ArrayObject)):
        return
    for each in action if isinstance(action, ArrayObject) else [action]:
        each = _resolved(each)
        if not isinstance(each, DictionaryObject):
            continue
        kind = str(_resolved(each.get("/S")) or "")
        if kind in AUTOMATIC:
            raise ActiveContentError(
                f"The PDF opens a link by itself ({kind} as an automatic action): send a plain PDF",
                found=kind,
            )
        _refuse_automatic(each.get("/Next"), depth - 1)


def _filters(stream: StreamObject) -> list[str]:
    found = _resolved(stream.get("/Filter"))
    chain = list(found) if isinstance(found, ArrayObject) else [found] if found else []
    return [str(_resolved(f)) for f in chain]


def _stream_size(stream: StreamObject, room: int, in_time: Callable[[], None]) -> int:
    """The stream's bytes once inflated, up to just past `room`, without keeping them; an
    image codec's data as it is."""
    chain, raw = _filters(stream), bytes(getattr(stream, "_data", b""))
    if any(f in IMAGE_CODECS for f in chain):
        return len(raw)
    if len(chain) == 1 and chain[0] in FLATE:
        try:
            return sum(len(part) for part in _inflated(raw, room, in_time))
        except zlib.error:
            pass  # a damaged stream: pypdf's own decoder tries harder, as viewers do
    size = len(stream.get_data())
    if isinstance(stream, EncodedStreamObject):
        stream.decoded_self = None  # pypdf caches the decoded stream: not kept here
    return size


def _inflated(raw: bytes, room: int, in_time: Callable[[], None]) -> Iterator[bytes]:
    """The inflated stream, CHUNK bytes at a time, stopping once past `room`."""
    inflater, pending, total = zlib.decompressobj(), raw, 0
    while True:
        part = inflater.decompress(pending, CHUNK)
        total += len(part)
        yield part
        if total > room:
            return
        in_time()
        pending = inflater.unconsumed_tail
        if inflater.eof or not (pending or part):
            return


def _complex(why: str) -> DocumentTooComplexError:
    return DocumentTooComplexError(
        f"The PDF {why}: send a simpler file (e.g. printed to PDF or scanned)"
    )


def _bomb(max_inflated: int) -> DecompressionBombError:
    return DecompressionBombError(
        f"The PDF's compressed streams inflate to more than {max_inflated} bytes",
        max_inflated=max_inflated,
    )
