"""The family's pre-rendered case document: byte for byte the view replayed from the events,
at every step of a case's life; rebuilt identically; sealed at rest when a key is configured."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from uuid import UUID, uuid4

import orjson
import pytest
from eventsourcing.persistence import OperationalError
from psycopg.sql import SQL

from adapters.bootstrap import Container, build
from adapters.case_documents import PostgresCaseDocuments
from adapters.facade import load_view, read_case
from adapters.settings import Settings
from domain.births.commands import (
    ApplyAsFamily,
    NotifyBirth,
    RateService,
    VoidNotification,
)
from domain.kernel.actors import Principal
from domain.kernel.service_request import ServiceRequest
from projections.case_document import DOCUMENTS, SEALED
from tests.conftest import CHILD_ID, HOSPITAL, RESULTS, make_facts, office_step
from tests.pg import postgres_settings

KEY = base64.b64encode(bytes(range(32))).decode()


def family(case_id: UUID) -> Principal:
    return Principal(uuid4(), "family", str(case_id))


def replayed(container: Container, case_id: UUID) -> bytes:
    """What GET /cases/{id} answered the family before the document existed."""
    view = read_case(container, family(case_id), case_id, None)
    return orjson.dumps(view, option=orjson.OPT_NON_STR_KEYS)


def assert_document_is_the_replay(container: Container, case_id: UUID) -> None:
    container.after_command()
    document = container.projections.case_status_view.document(case_id)
    assert document is not None
    assert orjson.loads(document) == orjson.loads(replayed(container, case_id))
    assert document == replayed(container, case_id)  # same keys in the same order


def notify(container: Container, ref: str, **changes: object) -> UUID:
    outcome = container.ledger.notify_birth(NotifyBirth(f"m-{ref}", make_facts(ref, **changes)))
    container.after_command()
    return outcome.case_id


def decide(container: Container, case_id: UUID, service: str, *actions: str) -> None:
    request_id = ServiceRequest.create_id(case_id, service)
    for action in actions:
        office_step(
            container.ledger,
            request_id,
            action,
            "office:test",
            result=RESULTS[service],
            items=("出生医学证明原件照片", "户口簿"),
            reason="材料不符",
            receipt_number=f"R-{service}",
        )
        assert_document_is_the_replay(container, case_id)


def approve_when_ready(container: Container, case_id: UUID, service: str) -> None:
    state = container.ledger.get_request(ServiceRequest.create_id(case_id, service)).state
    if state in ("dispatched", "received"):
        decide(container, case_id, service, *(["receive"] if state == "dispatched" else []))
        decide(container, case_id, service, "approve")


@pytest.fixture
def memory() -> Iterator[Container]:
    built = build(Settings(persistence="memory", embedded_worker=True))
    yield built
    built.close()


def test_the_document_follows_a_whole_case_byte_for_byte(memory: Container) -> None:
    case_id = notify(memory, "MR-DOC-1", child_name=None)
    assert_document_is_the_replay(memory, case_id)
    memory.ledger.apply_as_family(
        ApplyAsFamily(case_id, "王小雨", "mother", "430602", None, consent=True)
    )
    assert_document_is_the_replay(memory, case_id)
    planned = memory.ledger.get_case(case_id).planned_services
    decide(memory, case_id, "birth-certificate", "receive", "approve")
    decide(memory, case_id, "household-registration", "receive", "request-supplement")
    supplemented = orjson.loads(memory.projections.case_status_view.document(case_id) or b"{}")
    assert supplemented["next_action"].startswith("supplement: ")
    decide(memory, case_id, "household-registration", "reject")  # the items stay awaited
    for service in planned:
        approve_when_ready(memory, case_id, service)
    shown = orjson.loads(memory.projections.case_status_view.document(case_id) or b"{}")
    by_state = {s["state"]: s for s in shown["services"]}
    assert by_state["approved"]["result"]
    assert by_state["rejected"]["awaiting"] == ["出生医学证明原件照片", "户口簿"]


def test_a_completed_rated_case_and_a_voided_one(memory: Container) -> None:
    case_id = notify(memory, "MR-DOC-2", child_name="王小雨")
    for _ in range(6):  # each approval unblocks the next services of the plan
        for service in memory.ledger.get_case(case_id).planned_services:
            approve_when_ready(memory, case_id, service)
    assert memory.ledger.get_case(case_id).state == "completed"
    memory.ledger.rate(RateService(case_id, 5, "好"))
    assert_document_is_the_replay(memory, case_id)
    voided = notify(memory, "MR-DOC-3")
    memory.ledger.void_notification(VoidNotification("m-void", HOSPITAL, "MR-DOC-3"))
    assert_document_is_the_replay(memory, voided)


def test_until_the_projection_has_the_case_the_family_gets_the_replay(memory: Container) -> None:
    lagging = build(Settings(persistence="memory", embedded_worker=False))
    try:
        outcome = lagging.ledger.notify_birth(NotifyBirth("m-lag", make_facts("MR-LAG")))
        assert lagging.projections.case_status_view.document(outcome.case_id) is None
        view = read_case(lagging, family(outcome.case_id), outcome.case_id, None)
        assert view == load_view(lagging.ledger, family(outcome.case_id), outcome.case_id)
    finally:
        lagging.close()


def test_a_rebuild_writes_the_same_documents(memory: Container) -> None:
    case_id = notify(memory, "MR-DOC-4", child_name="王小雨")
    decide(memory, case_id, "birth-certificate", "receive", "approve")
    live = memory.projections.case_status_view.dump()
    assert len(live["documents"]) == 1
    memory.projections.rebuild("case_status", batch=2)
    assert memory.projections.case_status_view.dump() == live


def sqlite_bytes(settings: Settings) -> bytes:
    """The projection's SQLite files as stored (database and write-ahead log), if any."""
    if settings.persistence != "sqlite":
        return b""
    files = sorted(Path(settings.sqlite_dir).glob("projection_case_status.sqlite*"))
    assert files
    return b"".join(f.read_bytes() for f in files)


def test_without_a_key_the_document_holds_results_in_plain_text(memory: Container) -> None:
    """The control for the test below: the stored bytes it searches do hold results."""
    case_id = notify(memory, "MR-DOC-PLAIN", child_name="王小雨")
    decide(memory, case_id, "birth-certificate", "receive", "approve")
    decide(memory, case_id, "household-registration", "receive", "approve")
    assert CHILD_ID.encode() in orjson.dumps(memory.projections.case_status_view.dump())


def opened_documents(container: Container) -> list[bytes]:
    view = container.projections.case_status_view
    return [view.sealer.open(str(r["body"])) for r in view.dump()["documents"]]


def test_with_a_key_results_are_sealed_at_rest_and_read_back(settings: Settings) -> None:
    container = build(settings.with_changes(cipher_key=KEY))
    try:
        case_id = notify(container, "MR-DOC-SEALED", child_name="王小雨")
        decide(container, case_id, "birth-certificate", "receive", "approve")
        hukou = ServiceRequest.create_id(case_id, "household-registration")
        assert container.ledger.get_request(hukou).state == "dispatched"
        decide(container, case_id, "household-registration", "receive", "approve")
        view = container.projections.case_status_view
        stored = view.get(DOCUMENTS, str(case_id))
        assert stored is not None
        assert stored.body.startswith(SEALED)
        stored_bytes = orjson.dumps(view.dump()) + sqlite_bytes(settings)
        assert CHILD_ID.encode() not in stored_bytes
        assert b"X430602001" not in stored_bytes
        assert CHILD_ID.encode() in (view.document(case_id) or b"")
        live = opened_documents(container)
        container.projections.rebuild("case_status")  # new nonces, the same documents
        assert opened_documents(container) == live
    finally:
        container.close()


def test_with_a_key_the_tracking_code_and_record_key_are_digests_at_rest(
    settings: Settings,
) -> None:
    """Both are looked up by equality: the view keeps keyed digests of them, found again by
    hashing what the family or the hospital gives; the family's document still shows the code."""
    container = build(settings.with_changes(cipher_key=KEY))
    try:
        ref = "MR-DOC-INDEXED-7731"
        case_id = notify(container, ref, child_name="王小雨")
        code = container.ledger.get_case(case_id).tracking_code
        view = container.projections.case_status_view
        stored_bytes = orjson.dumps(view.dump()) + sqlite_bytes(settings)
        assert code.encode() not in stored_bytes
        assert ref.encode() not in stored_bytes
        found = view.by_tracking_code(code)
        assert found is not None
        assert found.case_id == str(case_id)
        by_ref = view.by_hospital_ref(HOSPITAL, ref)
        assert by_ref is not None
        assert by_ref.case_id == str(case_id)
        assert view.by_tracking_code(code + "X") is None
        assert orjson.loads(view.document(case_id) or b"{}")["tracking_code"] == code
        container.projections.rebuild("case_status")
        assert view.by_tracking_code(code) is not None
    finally:
        container.close()


def test_the_api_reader_reads_the_same_bytes_in_and_outside_the_lifespan(
    settings: Settings,
) -> None:
    container = build(settings)
    try:
        case_id = notify(container, "MR-DOC-READ", child_name="王小雨")
        expected = container.projections.case_status_view.document(case_id)

        async def reads() -> list[bytes | None]:
            documents = container.documents
            outside = await documents.read(str(case_id))  # no lifespan: the view, in a thread
            await documents.open()
            try:
                found = [await documents.read(str(case_id)) for _ in range(3)]
                return [outside, *found, await documents.read(str(uuid4()))]
            finally:
                await documents.close()

        assert asyncio.run(reads()) == [expected] * 4 + [None]
    finally:
        container.close()


@pytest.mark.postgres
def test_when_its_own_connection_fails_the_reader_uses_the_views_pool() -> None:
    settings = postgres_settings()  # only the PostgreSQL reader has connections of its own
    container = build(settings)
    try:
        case_id = notify(container, "MR-DOC-NOCONN", child_name="王小雨")
        view = container.projections.case_status_view
        unreachable = settings.with_changes(postgres=replace(settings.postgres, port=1))
        reader = PostgresCaseDocuments(view, unreachable)  # type: ignore[arg-type]

        async def read() -> bytes | None:
            await reader.open()
            try:
                return await reader.read(str(case_id))
            finally:
                await reader.close()

        assert asyncio.run(read()) == view.document(case_id)
    finally:
        container.close()


@pytest.mark.postgres
def test_the_api_reader_opens_sealed_documents_and_misses_unknown_cases() -> None:
    settings = postgres_settings().with_changes(cipher_key=KEY)
    container = build(settings)
    try:
        case_id = notify(container, "MR-DOC-SEALREAD", child_name="王小雨")
        decide(container, case_id, "birth-certificate", "receive", "approve")
        expected = container.projections.case_status_view.document(case_id)
        assert expected is not None
        assert b"X430602001" in expected  # opened: the result is sealed at rest

        async def reads() -> list[bytes | None]:
            documents = container.documents
            await documents.open()
            try:
                return [await documents.read(str(c)) for c in (case_id, uuid4(), case_id)]
            finally:
                await documents.close()

        assert asyncio.run(reads()) == [expected, None, expected]
    finally:
        container.close()


@pytest.mark.postgres
def test_a_statement_the_server_refuses_is_an_error_and_its_connection_is_dropped() -> None:
    settings = postgres_settings()
    container = build(settings)
    try:
        case_id = notify(container, "MR-DOC-REFUSED", child_name="王小雨")
        reader = container.documents
        assert isinstance(reader, PostgresCaseDocuments)
        reader.query = SQL("SELECT body FROM no_such_table WHERE case_id = $1").format()

        async def read() -> int:
            await reader.open()
            try:
                with pytest.raises(OperationalError, match="no_such_table"):
                    await reader.read(str(case_id))
                assert reader.connections is not None
                return reader.connections._count
            finally:
                await reader.close()

        assert asyncio.run(read()) == 0
    finally:
        container.close()
