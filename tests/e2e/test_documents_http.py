"""Families' documents over HTTP, on SQLite and PostgreSQL with a cipher key: the family
uploads a PDF and cites it in its supplement, the office that asked downloads it, another
office gets 404, the bytes at rest are not the file; refused uploads store nothing."""

from __future__ import annotations

import base64
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from uuid import UUID

import pytest
from starlette.testclient import TestClient

from adapters.bootstrap import Container, build
from adapters.settings import Settings
from api.app import create_app
from integrations.documents.content import check_content
from tests import crafted_files as crafted
from tests.e2e.test_one_time_notice import bearer, notified, post, vaccination_of

KEY = base64.b64encode(bytes(range(32))).decode()
LIMIT = 512 * 1024
PDF = crafted.page_pdf()


@pytest.fixture
def keyed(settings: Settings) -> Iterator[Container]:
    built = build(settings.with_changes(cipher_key=KEY, document_max_bytes=LIMIT))
    yield built
    built.close()


@pytest.fixture
def client(keyed: Container) -> Iterator[TestClient]:
    with TestClient(create_app(keyed, close_on_shutdown=False)) as test_client:
        yield test_client


def upload(client: TestClient, case_id: UUID, token: str, name: str, data: bytes, kind: str) -> Any:
    return client.post(
        f"/cases/{case_id}/documents",
        files={"file": (name, data, kind)},
        headers=bearer(token),
    )


def stored(container: Container, case_id: UUID, data: bytes) -> bool:
    return container.files.store.get(str(case_id), container.files.document_id(data)) is not None


def test_a_family_uploads_a_pdf_for_its_supplement_and_only_that_office_reads_it(
    client: TestClient, keyed: Container
) -> None:
    case_id, family = notified(keyed, "MR-DOC-1")
    _, cdc = keyed.actors.add("office", "430602", "cdc")
    _, health = keyed.actors.add("office", "430602", "health")  # an office of the same case
    request_id = vaccination_of(client, case_id, family)["service_request_id"]
    assert post(client, request_id, "request-supplement", cdc, {"items": ["结婚证"]}).is_success

    sent = upload(client, case_id, family, "结婚证.pdf", PDF, "application/pdf")
    assert sent.status_code == 201, sent.json()
    reference = sent.json()
    assert reference["type"] == "application/pdf"
    assert (reference["name"], reference["size"]) == ("结婚证.pdf", len(PDF))
    assert sent.headers["location"] == f"/cases/{case_id}/documents/{reference['id']}"
    answer = {"items": ["结婚证: 见附件"], "evidence": [reference]}
    supplemented = post(client, request_id, "supplement", family, answer)
    assert supplemented.status_code == 200, supplemented.json()

    listed = client.get(f"/service-requests/{request_id}/documents", headers=bearer(cdc))
    assert listed.json() == {"service_request_id": request_id, "documents": [reference]}
    path = f"/service-requests/{request_id}/documents/{reference['id']}"
    download = client.get(path, headers=bearer(cdc))
    assert download.status_code == 200
    assert download.content == PDF
    assert download.headers["content-type"] == "application/pdf"
    assert download.headers["x-content-type-options"] == "nosniff"
    assert download.headers["content-disposition"].startswith("attachment;")
    assert "%E7%BB%93%E5%A9%9A%E8%AF%81.pdf" in download.headers["content-disposition"]

    # another office, even of the same case, gets exactly a missing document
    assert client.get(path, headers=bearer(health)).status_code == 404
    listing = client.get(f"/service-requests/{request_id}/documents", headers=bearer(health))
    assert listing.status_code == 404
    certificate = next(
        s
        for s in client.get(f"/cases/{case_id}", headers=bearer(health)).json()["services"]
        if s["service"] == "birth-certificate"
    )
    own = f"/service-requests/{certificate['service_request_id']}/documents/{reference['id']}"
    assert client.get(own, headers=bearer(health)).status_code == 404  # not cited there
    _, elsewhere = keyed.actors.add("office", "420102", "cdc")
    assert client.get(path, headers=bearer(elsewhere)).status_code == 404

    mine = client.get(f"/cases/{case_id}/documents/{reference['id']}", headers=bearer(family))
    assert (mine.status_code, mine.content) == (200, PDF)
    _, other_family = notified(keyed, "MR-DOC-2")
    theirs = f"/cases/{case_id}/documents/{reference['id']}"
    assert client.get(theirs, headers=bearer(other_family)).status_code == 404
    assert client.get(theirs, headers=bearer(cdc)).status_code == 404
    assert upload(client, case_id, other_family, "a.pdf", PDF, "application/pdf").status_code == 404
    assert upload(client, case_id, cdc, "a.pdf", PDF, "application/pdf").status_code == 404

    # the downloads and the listing are in the read audit, without the file's name
    _, admin = keyed.actors.add("admin", None)
    audit = client.get("/audit", params={"case": str(case_id)}, headers=bearer(admin))
    reads = [(r["role"], r["authority"], r["what"], r["target"]) for r in audit.json()["rows"]]
    assert ("office", "cdc", "document", reference["id"]) in reads
    assert ("office", "cdc", "document", request_id) in reads  # the listing
    assert ("family", "", "document", reference["id"]) in reads
    assert not [r for r in reads if r[:2] == ("office", "health") and r[2] == "document"]
    assert "结婚证" not in audit.text

    # at rest: neither the file nor its name in the clear
    row = keyed.files.store.get(str(case_id), reference["id"])
    assert row is not None
    assert b"Marriage certificate" not in row.content
    assert row.content != PDF
    assert "结婚证".encode() not in row.meta
    assert reference["sha256"] not in reference["id"]


def test_refused_uploads_are_explained_and_store_nothing(
    client: TestClient, keyed: Container
) -> None:
    case_id, family = notified(keyed, "MR-DOC-3")
    png = crafted.png()
    lied = upload(client, case_id, family, "证明.pdf", png, "application/pdf")
    assert lied.status_code == 422
    assert lied.headers["content-type"] == "application/problem+json"
    assert lied.json()["type"] == "/problems/document-type-mismatch"
    assert "image/png" in lied.json()["detail"]

    bomb = crafted.png_bomb(20_000)
    refused = upload(client, case_id, family, "bomb.png", bomb, "image/png")
    assert (refused.status_code, refused.json()["type"]) == (422, "/problems/decompression-bomb")
    inflating = crafted.pdf_bomb(100 * 1024 * 1024)  # ~100 KB, 100 MB once inflated
    refused = upload(client, case_id, family, "bomb.pdf", inflating, "application/pdf")
    assert (refused.status_code, refused.json()["type"]) == (422, "/problems/decompression-bomb")
    script = crafted.pdf_with_javascript()
    active = upload(client, case_id, family, "x.pdf", script, "application/pdf")
    assert (active.status_code, active.json()["type"]) == (422, "/problems/active-content")
    gif = b"GIF89a" + b"\x00" * 64
    other = upload(client, case_id, family, "x.gif", gif, "image/gif")
    assert (other.status_code, other.json()["type"]) == (
        415,
        "/problems/unsupported-document-type",
    )

    big = PDF + b"%" + b"x" * LIMIT
    too_big = upload(client, case_id, family, "big.pdf", big, "application/pdf")
    assert (too_big.status_code, too_big.json()["type"]) == (413, "/problems/document-too-large")
    raw = client.post(
        f"/cases/{case_id}/documents?name=big.pdf",
        content=big,
        headers=bearer(family) | {"Content-Type": "application/pdf"},
    )
    assert raw.status_code == 413

    def chunks() -> Iterator[bytes]:  # no Content-Length: refused while read
        yield from (big[i : i + 65536] for i in range(0, len(big), 65536))

    streamed = client.post(
        f"/cases/{case_id}/documents",
        content=chunks(),
        headers=bearer(family) | {"Content-Type": "application/pdf"},
    )
    assert streamed.status_code == 413
    for data in (png, bomb, inflating, script, gif, big):
        assert not stored(keyed, case_id, data)

    ok = client.post(
        f"/cases/{case_id}/documents?name=scan.png",
        content=png,
        headers=bearer(family) | {"Content-Type": "image/png"},
    )
    assert ok.status_code == 201, ok.json()
    assert ok.json()["name"] == "scan.png"
    assert stored(keyed, case_id, png)


def test_a_supplement_citing_a_document_the_case_lacks_is_refused(
    client: TestClient, keyed: Container
) -> None:
    case_id, family = notified(keyed, "MR-DOC-4")
    other_case, other_family = notified(keyed, "MR-DOC-5")
    _, cdc = keyed.actors.add("office", "430602", "cdc")
    request_id = vaccination_of(client, case_id, family)["service_request_id"]
    assert post(client, request_id, "request-supplement", cdc, {"items": ["结婚证"]}).is_success
    theirs = upload(client, other_case, other_family, "a.pdf", PDF, "application/pdf").json()
    body = {"items": ["结婚证"], "evidence": [{"id": theirs["id"]}]}
    refused = post(client, request_id, "supplement", family, body)
    assert refused.status_code == 422
    assert refused.json()["type"] == "/problems/unknown-evidence"
    assert refused.json()["documents"] == [theirs["id"]]
    mine = upload(client, case_id, family, "a.pdf", PDF, "application/pdf").json()
    wrong_hash = {"items": ["结婚证"], "evidence": [{"id": mine["id"], "sha256": "0" * 64}]}
    assert post(client, request_id, "supplement", family, wrong_hash).status_code == 422
    # an outsider learns nothing: the step is a 404 before any document is looked at
    assert post(client, request_id, "supplement", other_family, body).status_code == 404


def test_a_download_is_named_for_the_type_it_was_checked_as(
    client: TestClient, keyed: Container
) -> None:
    # a real PNG with an HTML application after it, named .hta: accepted as the PNG it is,
    # but kept, listed and served as .png, never under the family's extension
    case_id, family = notified(keyed, "MR-DOC-6")
    polyglot = crafted.png_with_trailing_html()
    sent = upload(client, case_id, family, "C:\\docs\\出生证明.hta", polyglot, "image/png")
    assert sent.status_code == 201, sent.json()
    assert sent.json()["name"] == "出生证明.png"
    path = f"/cases/{case_id}/documents/{sent.json()['id']}"
    download = client.get(path, headers=bearer(family))
    assert download.status_code == 200
    disposition = download.headers["content-disposition"]
    assert disposition.endswith("filename*=UTF-8''%E5%87%BA%E7%94%9F%E8%AF%81%E6%98%8E.png")
    assert "hta" not in disposition
    assert download.headers["content-type"] == "image/png"
    unnamed = upload(client, case_id, family, ".html", crafted.jpeg(), "image/jpeg")
    assert unnamed.json()["name"] == "document.jpg"


def test_a_pdf_pypdf_cannot_decode_is_refused_as_damaged_not_a_server_error(
    client: TestClient, keyed: Container
) -> None:
    case_id, family = notified(keyed, "MR-DOC-7")
    data = crafted.pdf_with_unknown_filter()  # /Filter /Foo: pypdf raises NotImplementedError
    refused = upload(client, case_id, family, "a.pdf", data, "application/pdf")
    assert refused.status_code == 422
    assert refused.json()["type"] == "/problems/damaged-document"
    too_many = upload(
        client, case_id, family, "b.pdf", crafted.pdf_with_many_objects(10_001), "application/pdf"
    )
    assert (too_many.status_code, too_many.json()["type"]) == (
        422,
        "/problems/document-too-complex",
    )
    assert not stored(keyed, case_id, data)


def test_uploads_are_checked_on_their_own_threads_and_reads_are_not_starved(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    # one worker thread for reads, one upload checked at a time and one waiting
    container = build(settings.with_changes(threads=1, document_checks=1, busy_retry_after=7))
    release, started = threading.Event(), threading.Semaphore(0)

    def slow_check(*args: Any) -> str:
        started.release()
        assert release.wait(30)
        return check_content(*args)

    monkeypatch.setattr("adapters.document_files.check_content", slow_check)
    try:
        with TestClient(create_app(container, close_on_shutdown=False)) as client:
            case_id, family = notified(container, "MR-DOC-8")
            checks = client.app.state.document_checks  # type: ignore[attr-defined]

            def send(data: bytes) -> Any:
                return upload(client, case_id, family, "a.png", data, "image/png")

            with ThreadPoolExecutor(2) as pool:
                first = pool.submit(send, crafted.png(40, 30))
                assert started.acquire(timeout=30)  # checking, on the uploads' thread
                second = pool.submit(send, crafted.png(41, 30))
                deadline = time.monotonic() + 30
                while checks.admitted < 2 and time.monotonic() < deadline:
                    time.sleep(0.01)
                busy = send(crafted.png(42, 30))
                assert busy.status_code == 503
                assert busy.headers["retry-after"] == "7"
                assert busy.json()["type"] == "/problems/documents-busy"
                read = client.get(f"/cases/{case_id}", headers=bearer(family))
                assert read.status_code == 200  # the one read thread is free
                release.set()
                assert first.result(30).status_code == 201
                assert second.result(30).status_code == 201
            assert not stored(container, case_id, crafted.png(42, 30))
    finally:
        release.set()
        container.close()
