"""Real files for the upload tests, made here: small PDFs, JPEGs and PNGs, and the hostile
ones (a PNG bomb, a PDF whose stream inflates to a hundred megabytes, a PDF with a script)."""

from __future__ import annotations

import io
import struct
import zlib

from PIL import Image


def png(width: int = 40, height: int = 30) -> bytes:
    image = Image.new("RGB", (width, height), (200, 30, 40))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def jpeg(width: int = 40, height: int = 30) -> bytes:
    image = Image.new("RGB", (width, height), (20, 130, 40))
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=80)
    return out.getvalue()


def _chunk(kind: bytes, body: bytes) -> bytes:
    crc = zlib.crc32(kind + body) & 0xFFFFFFFF
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)


def png_bomb(side: int = 50_000) -> bytes:
    """A 1-bit greyscale PNG of side x side pixels, every row zeros: a few hundred KB that
    decode to side * side / 8 bytes (50 000: 312 MB)."""
    rows = b"\x00" * (1 + (side + 7) // 8) * 1000  # filter byte, then the packed pixels
    compressor = zlib.compressobj(6)
    parts = [compressor.compress(rows) for _ in range(side // 1000)]
    parts.append(compressor.compress(rows[: len(rows) // 1000 * (side % 1000)]))
    parts.append(compressor.flush())
    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", b"".join(parts))
        + _chunk(b"IEND", b"")
    )


def pdf(*objects: bytes, unlisted: tuple[bytes, ...] = ()) -> bytes:
    """A PDF with these objects (1 0 obj is the catalog, numbered in order) and a correct
    cross-reference table; the `unlisted` objects follow them in the body (numbered on) but
    the cross-reference leaves them out."""
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    for number, body in enumerate(unlisted, start=len(objects) + 1):
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    start = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        start,
    )
    return bytes(out)


def stream(data: bytes, extra: bytes = b"") -> bytes:
    packed = zlib.compress(data, 9)
    head = b"<< /Length %d /Filter /FlateDecode %s>>\nstream\n" % (len(packed), extra)
    return head + packed + b"\nendstream"


def page_pdf(catalog_extra: bytes = b"", content: bytes = b"") -> bytes:
    """A one-page PDF that says hello (a real document: a viewer shows it)."""
    text = content or b"BT /F1 24 Tf 72 720 Td (Marriage certificate, page 1) Tj ET"
    return pdf(
        b"<< /Type /Catalog /Pages 2 0 R " + catalog_extra + b">>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        stream(text),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    )


def pdf_bomb(inflated: int = 100 * 1024 * 1024) -> bytes:
    """A one-page PDF whose content stream inflates to `inflated` bytes of spaces."""
    return page_pdf(content=b" " * inflated)


def pdf_with_javascript() -> bytes:
    """A PDF that runs a script when opened (its /OpenAction), the name hex-escaped as
    malicious files do (/J#61vaScript is /JavaScript)."""
    return page_pdf(catalog_extra=b"/OpenAction << /S /J#61vaScript /JS (app.alert(1)) >> ")


PAGES = (
    b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
    b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>",
)


def pdf_with_unlisted_script() -> bytes:
    """The catalog opens with 4 0 R, an object in the body the cross-reference leaves out
    (pypdf and viewers find it by searching the file): a script."""
    return pdf(
        b"<< /Type /Catalog /Pages 2 0 R /OpenAction 4 0 R >>",
        *PAGES,
        unlisted=(b"<< /S /JavaScript /JS (app.alert('x')) >>",),
    )


def pdf_with_orphan_script() -> bytes:
    """A script object nothing refers to and the cross-reference leaves out: only a viewer
    that rebuilds the cross-reference (a damaged file) would find it."""
    return pdf(
        b"<< /Type /Catalog /Pages 2 0 R >>",
        *PAGES,
        unlisted=(b"<< /Type /Action /S /JavaScript /JS (app.alert(2)) >>",),
    )


def pdf_with_many_objects(count: int) -> bytes:
    """A one-page PDF with `count` more small objects, all in the cross-reference."""
    filler = [b"<< /N %d >>" % n for n in range(count)]
    return pdf(b"<< /Type /Catalog /Pages 2 0 R >>", *PAGES, *filler)


def pdf_with_unknown_filter() -> bytes:
    """A page whose content stream names a filter nobody implements (/Foo)."""
    return page_pdf().replace(b"/FlateDecode", b"/Foo        ", 1)  # offsets kept


def png_with_trailing_html() -> bytes:
    """A real PNG with an HTML application after its IEND (a polyglot)."""
    return png() + b"<html><script>new ActiveXObject('WScript.Shell')</script></html>"
