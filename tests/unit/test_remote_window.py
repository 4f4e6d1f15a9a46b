"""The remote virtual window session: booking rules, its states, who acts and who sees what."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from importlib.resources import files
from uuid import uuid4

import pytest

from domain.births.catalog import load_catalog
from domain.kernel.alliance import Alliance
from domain.kernel.disclosure import DispatchPayload
from domain.kernel.errors import (
    InvalidSessionError,
    ReferenceDataError,
    RequestNotOpenError,
    SessionStateError,
    WrongOfficeError,
)
from domain.kernel.remote_window import (
    AUTOMATIC,
    REQUEST_GONE,
    SLOT_PASSED,
    RemoteWindowSession,
    SessionState,
    next_step,
    session_entry,
    session_id,
)
from domain.kernel.routing import Places, PlannedService, Route, plan_services
from domain.kernel.service_request import ServiceRequest
from domain.kernel.transcodings import WINDOW_OFFICE, WINDOW_SLOT
from domain.kernel.window_values import Slot, WindowOffice
from domain.wings import load_alliance, load_national_list

NOW = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)  # 10:00 in China
HAIYAN = WindowOffice("330424", "medical-insurance")
JINSHAN = WindowOffice("310116", "medical-insurance")
PINGHU = WindowOffice("330482", "medical-insurance")


def request(receiving: str = "330424", handling: str = "310116") -> ServiceRequest:
    planned = PlannedService(
        service="maternity-benefits",
        authority="medical-insurance",
        handling_locality=handling,
        receiving_locality=receiving,
        mode="remote-window",
        depends_on=(),
        time_limit_days=20,
        manual_routing=False,
        route_note="test",
    )
    made = ServiceRequest(uuid4(), "maternity-benefits", Route(planned, "c", "a"))
    made.dispatch(DispatchPayload({"born_at": "2026-11-01"}), "2026-11-19", "2026-11-26")
    return made


def slot(hours: float = 72, length: float = 1) -> Slot:  # Monday 2026-11-23 10:00
    start = NOW + timedelta(hours=hours)
    end = start + timedelta(hours=length)
    return Slot.checked(start.isoformat(), end.isoformat(), NOW)


def booked() -> RemoteWindowSession:
    return RemoteWindowSession.book(request(), 1, HAIYAN, "office:a", slot(), "maternity claim")


def test_a_slot_is_stored_in_china_time_and_checked() -> None:
    made = Slot.checked("2026-11-23T02:00:00Z", "2026-11-23T10:30", NOW)
    assert made == Slot("2026-11-23T10:00+08:00", "2026-11-23T10:30+08:00")
    with pytest.raises(InvalidSessionError, match="in the past"):
        Slot.checked("2026-11-20T09:00+08:00", "2026-11-20T11:00+08:00", NOW)
    with pytest.raises(InvalidSessionError, match="ends before it starts"):
        Slot.checked("2026-11-21T11:00+08:00", "2026-11-21T10:00+08:00", NOW)
    with pytest.raises(InvalidSessionError, match="4 hours"):
        Slot.checked("2026-11-23T09:00+08:00", "2026-11-23T13:30+08:00", NOW)
    with pytest.raises(InvalidSessionError, match="90 days"):
        Slot.checked("2027-03-01T08:00+08:00", "2027-03-01T09:00+08:00", NOW)
    with pytest.raises(InvalidSessionError, match="ISO 8601") as raised:
        Slot.checked("tomorrow", "2026-11-21T09:00+08:00", NOW)
    assert raised.value.context == {"field": "starts_at"}


def test_the_receiving_office_books_for_a_request_received_for_another_locality() -> None:
    session = booked()
    assert session.id == session_id(session.service_request_id, 1)
    assert (session.state, session.receiving, session.handling) == (
        SessionState.BOOKED,
        HAIYAN,
        JINSHAN,
    )
    with pytest.raises(WrongOfficeError):
        RemoteWindowSession.book(request(), 1, JINSHAN, "office:b", slot())
    with pytest.raises(WrongOfficeError):
        RemoteWindowSession.book(request(), 1, PINGHU, "office:c", slot())
    with pytest.raises(InvalidSessionError, match="same one"):
        RemoteWindowSession.book(request("310116"), 1, JINSHAN, "office:b", slot())


def test_a_decided_request_gets_no_session() -> None:
    decided = request()
    decided.receive("office:a", "R-1", "2026-12-20", False)
    decided.reject("office:b", "not insured", "Art. 1")
    with pytest.raises(RequestNotOpenError):
        RemoteWindowSession.book(decided, 1, HAIYAN, "office:a", slot())


def test_booked_then_started_joined_and_ended_by_the_handling_office() -> None:
    session = booked()
    session.join(HAIYAN, "office:a", "applicant", NOW)
    session.start(HAIYAN, "office:a", NOW)
    session.join(JINSHAN, "office:b", "handling", NOW)
    session.join(JINSHAN, "office:b", "handling", NOW)  # once is enough
    session.join(HAIYAN, "office:a", "receiving", NOW)
    with pytest.raises(WrongOfficeError):
        session.join(HAIYAN, "office:a", "handling", NOW)
    with pytest.raises(WrongOfficeError, match="handling office"):
        session.end(HAIYAN, "office:a", "done", NOW)
    with pytest.raises(InvalidSessionError, match="party"):
        session.join(HAIYAN, "office:a", "hospital", NOW)
    session.end(JINSHAN, "office:b", "documents checked on screen", NOW)
    assert session.state == SessionState.ENDED
    assert session.joined == ["applicant", "handling", "receiving"]
    ended = session.collect_events()[-1]
    assert isinstance(ended, RemoteWindowSession.Ended)
    assert ended.participants == ["applicant", "handling", "receiving"]
    assert ended.at == "2026-11-20T10:00:00+08:00"
    with pytest.raises(SessionStateError):
        session.cancel(HAIYAN, "office:a", "late")


def test_cancelled_only_while_booked_with_a_reason() -> None:
    session = booked()
    with pytest.raises(InvalidSessionError, match="reason"):
        session.cancel(JINSHAN, "office:b", " ")
    session.cancel(JINSHAN, "office:b", "the clerk is ill")
    assert session.state == SessionState.CANCELLED
    with pytest.raises(SessionStateError, match="cancelled"):
        session.start(HAIYAN, "office:a", NOW)
    with pytest.raises(WrongOfficeError):
        booked().cancel(PINGHU, "office:c", "not mine")


def received(made: ServiceRequest) -> ServiceRequest:
    made.receive("office:a", "R-1", "2026-12-18", False)
    return made


def test_every_state_names_who_acts_next_and_by_when() -> None:
    session, claim = booked(), received(request())
    first = next_step(session, claim, NOW)
    assert first is not None
    assert first["due"] == session.slot.starts_at
    assert first["offices"] == [HAIYAN.to_dict(), JINSHAN.to_dict()]
    session.start(HAIYAN, "office:a", NOW)
    running = next_step(session, claim, NOW)
    assert running is not None
    assert (running["offices"], running["due"]) == ([JINSHAN.to_dict()], session.slot.ends_at)
    session.end(JINSHAN, "office:b", "", NOW)
    after = next_step(session, claim, NOW)
    assert after is not None
    assert (after["offices"], after["due"]) == ([JINSHAN.to_dict()], "2026-12-18")
    assert "decide" in after["action"]
    claim.reject("office:b", "not insured", "Art. 1")
    assert next_step(session, claim, NOW) is None
    cancelled = booked()
    cancelled.cancel(HAIYAN, "office:a", "applicant cannot come")
    again = next_step(cancelled, request(), NOW)
    assert again is not None
    assert again["offices"] == [HAIYAN.to_dict()]


def test_a_session_ended_before_the_receipt_names_the_receiving_office_next() -> None:
    """Review finding 2: the handling office decides a received request only."""
    session, claim = booked(), request()  # dispatched: not received yet
    session.start(JINSHAN, "office:b", NOW)
    session.end(JINSHAN, "office:b", "seen on screen", NOW)
    after = next_step(session, claim, NOW)
    assert after is not None
    assert after["offices"] == [HAIYAN.to_dict()]
    assert after["action"].startswith("receive the request")
    assert after["due"] == claim.due


def test_a_request_leaving_the_window_calls_its_booked_session_off() -> None:
    """Review finding 1: a decided (or withdrawn) request's session is not held."""
    session, claim = booked(), received(request())
    claim.reject("office:b", "not insured", "Art. 1")
    assert next_step(session, claim, NOW) is None
    assert session.call_off(claim, NOW) is True
    assert (session.state, session.cancel_reason) == (SessionState.CANCELLED, REQUEST_GONE)
    called = session.collect_events()[-1]
    assert isinstance(called, RemoteWindowSession.Cancelled)
    assert (called.by, called.office) == (AUTOMATIC, HAIYAN)
    assert session.call_off(claim, NOW) is False  # once
    running = booked()
    running.start(HAIYAN, "office:a", NOW)
    assert running.call_off(claim, NOW) is False  # a session held goes on to its end


def test_a_booked_session_lapses_at_the_end_of_its_slots_day() -> None:
    """Review finding 4: a session not started by the end of its slot's day is called off;
    the offices book another."""
    session, claim = booked(), request()
    assert session.slot.lapses_at == datetime.fromisoformat("2026-11-24T00:00+08:00")
    late = session.slot.lapses_at
    assert not session.lapsed(late - timedelta(minutes=1))
    assert session.call_off(claim, late - timedelta(minutes=1)) is False
    lapsed = next_step(session, claim, late)
    assert lapsed is not None
    assert lapsed["offices"] == [HAIYAN.to_dict()]
    assert lapsed["action"].startswith("book another session")
    with pytest.raises(SessionStateError, match="slot's day ended"):
        session.start(HAIYAN, "office:a", late + timedelta(days=40))
    assert session.call_off(claim, late) is True
    assert session.cancel_reason == SLOT_PASSED


def test_a_slot_lies_within_office_hours_on_a_working_day() -> None:
    """Review finding 3: 08:30-17:30 China time, on a working day, 5 minutes ahead at least,
    to the minute."""
    with pytest.raises(InvalidSessionError, match="working day"):
        Slot.checked("2026-11-21T10:00+08:00", "2026-11-21T11:00+08:00", NOW)  # Saturday
    with pytest.raises(InvalidSessionError, match="office hours"):
        Slot.checked("2026-11-23T08:00+08:00", "2026-11-23T09:00+08:00", NOW)
    with pytest.raises(InvalidSessionError, match="office hours"):
        Slot.checked("2026-11-23T17:00+08:00", "2026-11-23T18:00+08:00", NOW)
    with pytest.raises(InvalidSessionError, match="5 minutes"):
        Slot.checked("2026-11-20T10:03+08:00", "2026-11-20T11:00+08:00", NOW)
    made = Slot.checked("2026-11-23T13:30:59+08:00", "2026-11-23T17:30:40+08:00", NOW)
    assert made == Slot("2026-11-23T13:30+08:00", "2026-11-23T17:30+08:00")
    assert made.overlaps("2026-11-23T17:00+08:00", "2026-11-23T18:00+08:00")
    assert not made.overlaps("2026-11-23T17:30+08:00", "2026-11-23T18:00+08:00")


def test_the_history_shows_offices_the_session_and_families_less() -> None:
    session = booked()
    session.start(HAIYAN, "office:a", NOW)
    events = session.collect_events()
    office = session_entry("office", "remote-window:maternity-benefits", events[0])
    assert office["data"]["note"] == "maternity claim"
    assert office["data"]["receiving"] == HAIYAN.to_dict()
    assert "booked_by" not in office["data"]
    family = session_entry("family", "remote-window:maternity-benefits", events[0])
    assert "note" not in family["data"]
    assert family["data"]["slot"] == session.slot.to_dict()
    assert session_entry("hospital", "x", events[1])["data"] == {"session_id": str(session.id)}
    admin = session_entry("admin", "x", events[0])
    assert admin["data"]["booked_by"] == "office:a"


def test_the_values_are_stored_as_plain_dicts() -> None:
    assert WINDOW_OFFICE.decode(WINDOW_OFFICE.encode(HAIYAN)) == HAIYAN
    stored = WINDOW_SLOT.encode(slot())
    assert stored == {"starts_at": "2026-11-23T10:00+08:00", "ends_at": "2026-11-23T11:00+08:00"}
    assert WINDOW_SLOT.decode(stored) == slot()


def maternity_route(home: str, insured: str) -> PlannedService:
    places = Places(
        home,
        (
            ("birth-place", home),
            ("residence", home),
            ("household-hukou", home),
            ("insured-place", home),
            ("mother-insured-place", insured),
        ),
    )
    plan = plan_services(places, load_catalog(), load_alliance(), load_national_list())
    found = plan.service("maternity-benefits")
    assert found is not None
    return found


def test_the_jinshan_haiyan_pinghu_agreement_routes_maternity_benefits_by_remote_window() -> None:
    there = maternity_route("330424", "310116")
    assert (there.mode, there.receiving_locality, there.handling_locality) == (
        "remote-window",
        "330424",
        "310116",
    )
    assert "remote virtual window (金山" in there.route_note
    back = maternity_route("310116", "330482")
    assert (back.mode, back.receiving_locality) == ("remote-window", "310116")
    # the agreement binds three counties, not their cities: Nanhu and Pudong stay online
    assert maternity_route("330402", "310116").mode == "online"
    assert maternity_route("330424", "310115").mode == "online"


def test_a_county_of_an_agreement_is_a_current_county_of_a_member_city() -> None:
    data = json.loads(
        files("domain.kernel").joinpath("reference", "alliance.json").read_text("utf-8")
    )
    rule = next(a for a in data["agreements"] if a["mode"] == "remote-window")
    for wrong in ("330499", "230102"):  # no such county; a county of no member city
        rule["handling"] = [wrong]
        with pytest.raises(ReferenceDataError, match="matches no member"):
            Alliance.from_dict(data, load_catalog())
