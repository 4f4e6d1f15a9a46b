"""The typed core in stored events: each value is stored as the dict version 1 of its event
stored, inside its transcoding's mark; events and snapshots version 1 stored (bare dicts) load
as the same values, through the mapper and through the projections' decoder."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Any
from uuid import UUID

import orjson
import pytest
from eventsourcing.domain import Snapshot
from eventsourcing.persistence import Mapper

from adapters.bootstrap import Container, build
from adapters.settings import Settings
from domain.births.birth_case import BirthCase
from domain.births.commands import ApplyAsFamily, CorrectNotification, NotifyBirth
from domain.births.facts import BirthFacts
from domain.births.family_application import FamilyApplication
from domain.kernel.disclosure import DispatchPayload
from domain.kernel.rated_unit import RatedUnit
from domain.kernel.results import Result
from domain.kernel.routing import Route
from domain.kernel.service_request import ServiceRequest
from domain.wings import transcodings
from engine.page_reader import decoder_of
from tests.conftest import RESULTS, make_facts, office_step
from tests.stored import revived_as_v1, stored_as_v1
from tests.unit.test_orchestrator import FATHER
from tests.unit.test_projections_support import route

ROUTE = route("household-registration", "public-security", "420102", "430602", "off-site")

TYPED: dict[type, tuple[str, type]] = {  # event class → (its field that holds a value, type)
    BirthCase.Notified: ("facts", BirthFacts),
    BirthCase.NotificationCorrected: ("facts", BirthFacts),
    BirthCase.FamilyApplied: ("application", FamilyApplication),
    ServiceRequest.Planned: ("route", Route),
    ServiceRequest.Replanned: ("route", Route),
    ServiceRequest.Dispatched: ("payload", DispatchPayload),
    ServiceRequest.Approved: ("result", Result),
}
# fields later class versions added, as their upcasts fill them for an event of version 1
LATER: dict[type, dict[str, object]] = {
    ServiceRequest.Dispatched: {"since": None, "due": None, "provisional": False},
}


def as_of_v1(event: Any) -> dict[str, Any]:
    """The event's attributes as an event of version 1 loads them (later fields defaulted)."""
    found: dict[str, Any] = vars(event) | LATER.get(type(event), {})
    return found


@pytest.fixture(scope="module")
def story() -> Iterator[tuple[Container, UUID]]:
    """One case through every typed event: notified, corrected, the family's other household
    (a replan), dispatched, received and approved."""
    container = build(Settings(persistence="memory"))
    ledger = container.ledger
    facts = make_facts("MR-T1", father=FATHER)
    case_id = ledger.notify_birth(NotifyBirth("m-1", facts, b"{}")).case_id
    container.after_command()
    ledger.correct_notification(CorrectNotification("m-2", replace(facts, birth_weight_g=3300)))
    container.after_command()
    ledger.apply_as_family(ApplyAsFamily(case_id, "王小明", "father", "430602", None, True))
    container.after_command()
    request_id = ServiceRequest.create_id(case_id, "birth-certificate")
    office_step(ledger, request_id, "receive", "office:t", receipt_number="R-1")
    result = RESULTS["birth-certificate"]
    office_step(ledger, request_id, "approve", "office:t", result=result)
    container.after_command()
    yield container, case_id
    container.close()


def typed_events(container: Container, case_id: UUID) -> list[Any]:
    ledger = container.ledger
    case = ledger.get_case(case_id)
    streams = [case_id, *(ServiceRequest.create_id(case_id, s) for s in case.planned_services)]
    return [e for s in streams for e in ledger.events.get(s) if type(e) in TYPED]


def test_the_story_has_every_typed_event(story: tuple[Container, UUID]) -> None:
    assert {type(e) for e in typed_events(*story)} == set(TYPED)


def test_both_applications_register_every_transcoding(story: tuple[Container, UUID]) -> None:
    container, _ = story
    for app in (container.ledger, container.orchestrator):
        names = app.mapper.transcoder.names  # type: ignore[attr-defined]
        assert {t.name for t in transcodings()} <= set(names), app.name


def test_a_value_is_stored_as_the_dict_version_1_stored(story: tuple[Container, UUID]) -> None:
    container, case_id = story
    mapper = container.ledger.mapper
    for event in typed_events(container, case_id):
        name, kind = TYPED[type(event)]
        value = getattr(event, name)
        assert isinstance(value, kind)
        stored = mapper.to_stored_event(event)
        compressor = mapper.compressor
        state = orjson.loads(compressor.decompress(stored.state) if compressor else stored.state)
        assert state["class_version"] == type(event).class_version >= 2
        assert state[name]["_data_"] == orjson.loads(orjson.dumps(value.to_dict()))  # type: ignore[attr-defined]


def test_version_1_events_load_as_the_values(story: tuple[Container, UUID]) -> None:
    container, case_id = story
    ledger = container.ledger
    decode = decoder_of(ledger)
    for event in typed_events(container, case_id):
        name, _ = TYPED[type(event)]
        revived = revived_as_v1(ledger.mapper, event, plain=(name,))
        assert getattr(revived, name) == getattr(event, name)
        assert vars(revived) == as_of_v1(event)
        old = stored_as_v1(ledger.mapper, event, plain=(name,))
        assert vars(decode(old)) == as_of_v1(event)  # the projections' decoder upcasts alike


def test_version_1_snapshots_load_as_the_values(story: tuple[Container, UUID]) -> None:
    container, case_id = story
    ledger = container.ledger
    case = ledger.get_case(case_id)
    approved = ledger.get_request(ServiceRequest.create_id(case_id, "birth-certificate"))
    vaccination = ledger.get_request(ServiceRequest.create_id(case_id, "vaccination"))
    assert vaccination.result is None
    for aggregate, plain in (
        (case, ("facts", "application")),
        (approved, ("route", "payload", "result")),
        (vaccination, ("route", "payload", "result")),
    ):
        restored = snapshot_as_v1(ledger.mapper, aggregate, plain).mutate(None)
        assert vars(restored) == vars(aggregate)


def snapshot_as_v1(mapper: Mapper[UUID], aggregate: Any, plain: tuple[str, ...]) -> Snapshot:
    """A snapshot of `aggregate` as version 1 of its class wrote it, read back by the mapper."""
    stored = mapper.to_stored_event(Snapshot.take(aggregate))
    compressor = mapper.compressor
    snapshot = orjson.loads(compressor.decompress(stored.state) if compressor else stored.state)
    state = snapshot["state"]
    assert state.pop("class_version") == type(aggregate).class_version
    for name in plain:
        if state[name] is not None:
            state[name] = state[name]["_data_"]
    old = orjson.dumps(snapshot)
    old_state = compressor.compress(old) if compressor else old
    revived = mapper.to_domain_event(replace(stored, state=old_state))
    assert isinstance(revived, Snapshot)
    return revived


def test_a_request_never_approved_had_an_empty_result_dict() -> None:
    state: dict[str, object] = {
        "route": ROUTE.to_dict(),
        "payload": {"born_at": "2026-11-20T08:30:00+08:00", "birth_doses": ["bcg"]},
        "result": {},
    }
    ServiceRequest.upcast_v1_v2(state)
    payload = DispatchPayload({"born_at": "2026-11-20T08:30:00+08:00", "birth_doses": ("bcg",)})
    assert state == {"route": ROUTE, "payload": payload, "result": None}


def test_the_decoder_walks_a_value_that_holds_another(story: tuple[Container, UUID]) -> None:
    container, case_id = story
    ledger = container.ledger
    approved = next(
        e for e in typed_events(container, case_id) if isinstance(e, ServiceRequest.Approved)
    )
    stored = ledger.mapper.to_stored_event(approved)
    compressor = ledger.mapper.compressor
    state = orjson.loads(compressor.decompress(stored.state) if compressor else stored.state)
    state["result"]["_data_"] = {"certificate_number": state["timestamp"]}  # a mark in a mark
    nested = orjson.dumps(state)
    stored = replace(stored, state=compressor.compress(nested) if compressor else nested)
    ours, theirs = decoder_of(ledger)(stored), ledger.mapper.to_domain_event(stored)
    assert vars(ours) == vars(theirs)
    assert ours.result.value == approved.timestamp


def test_a_rated_case_snapshotted_before_cases_kept_the_comment_reads_it_from_the_event() -> None:
    """A snapshot of version 2 by the code before the rating's comment and unit were kept:
    the case's rating only. The comment is not in it (None) and is read from the Rated event;
    the rating was of version 1, so no unit, no call-back due or made."""
    container = build(Settings(persistence="memory"))
    ledger = container.ledger
    case_id = ledger.notify_birth(NotifyBirth("m-s", make_facts("MR-S1"), b"{}")).case_id
    container.after_command()
    case = ledger.get_case(case_id)
    case.close("family", "moved abroad")
    case.rate(2, "窗口没人")  # no unit, no due date: as the old code rated
    ledger.save(case)
    old = old_snapshot(ledger.mapper, ledger.get_case(case_id))
    restored = old.mutate(None)
    assert isinstance(restored, BirthCase)
    assert (restored.rating, restored.rating_comment, restored.rated_unit) == (2, None, None)
    assert (restored.call_back_due, restored.called_back) == ("", 0)
    assert ledger.snapshots is not None
    ledger.snapshots.recorder.insert_events([ledger.mapper.to_stored_event(old)])
    assert ledger.get_case(case_id).rating_comment is None  # loaded from the snapshot
    assert ledger.rating_comment(case_id) == "窗口没人"
    container.close()


def old_snapshot(mapper: Mapper[UUID], case: BirthCase) -> Snapshot:
    """A snapshot of the rated `case` as class version 2 took it before the comment, the
    unit and the call-backs were kept (the old `_rated` set the score only)."""
    stored = mapper.to_stored_event(Snapshot.take(case))
    compressor = mapper.compressor
    snapshot = orjson.loads(compressor.decompress(stored.state) if compressor else stored.state)
    state = snapshot["state"]
    state["class_version"] = 2
    for name in ("rating_comment", "rated_unit", "call_back_due"):
        del state[name]
    old = orjson.dumps(snapshot)
    revived = mapper.to_domain_event(
        replace(stored, state=compressor.compress(old) if compressor else old)
    )
    assert isinstance(revived, Snapshot)
    return revived


def test_a_rated_case_with_its_unit_is_snapshotted_and_loads_back() -> None:
    """A rated case's state holds the unit that answers for the rating: a snapshot stores it
    (a registered value) and the case loads from the snapshot with the same unit. Before, a
    snapshot of such a case failed to encode: a rated case reaching its snapshot interval
    could not be saved."""
    container = build(Settings(persistence="memory"))
    ledger = container.ledger
    case_id = ledger.notify_birth(NotifyBirth("m-u", make_facts("MR-U1"), b"{}")).case_id
    container.after_command()
    case = ledger.get_case(case_id)
    case.close("family", "moved abroad")
    unit = RatedUnit("vaccination", "cdc", "430602")
    case.rate(2, "窗口没人", unit, "2026-12-15")
    ledger.save(case)
    rated = ledger.get_case(case_id)
    stored = ledger.mapper.to_stored_event(Snapshot.take(rated))  # raised before
    snapshot = ledger.mapper.to_domain_event(stored)
    assert isinstance(snapshot, Snapshot)
    restored = snapshot.mutate(None)
    assert isinstance(restored, BirthCase)
    assert (restored.rating, restored.rated_unit, restored.call_back_due) == (
        2,
        unit,
        "2026-12-15",
    )
    container.close()
