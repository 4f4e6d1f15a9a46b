"""The remote virtual window (远程虚拟窗口): a session between the office that receives a
request and the office that handles it in another locality, with the applicant at the
receiving window (shared screen, audio and video; the video itself is not ours: the booking,
who took part and the outcome are the record).

Seed: the Jinshan-Haiyan-Pinghu cooperation agreement of 2023-09-22 ("remote virtual window
services ... break administrative boundaries but keep administrative subordination
relationship intact"): the handling office keeps its decision; it decides the request by its
usual approve or reject, during the session or after it.

State: booked → in-progress → ended, or booked → cancelled. The ledger calls a booked session
off (Cancelled, by AUTOMATIC) once its request leaves the window (decided, withdrawn) and once
its slot's day is over without it starting (Slot.lapses_at). Kernel-wide: a session belongs to
one ServiceRequest of any wing, received in one locality and handled in another.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, CanMutateAggregate, event

from domain.kernel.errors import (
    InvalidSessionError,
    RequestNotOpenError,
    SessionStateError,
    WrongOfficeError,
)
from domain.kernel.service_request import HOLDING, RequestState, ServiceRequest
from domain.kernel.topics import stored_as
from domain.kernel.window_values import CST, Slot, WindowOffice

REMOTE_WINDOW = "remote-window"  # the mode's name in the catalog, alliance and routes
MAX_NOTE = 500
PARTIES = ("receiving", "handling", "applicant")
AUTOMATIC = "ledger"  # who calls a session off when its request or its slot is gone
REQUEST_GONE = "the request left the window (decided or withdrawn): the session is not held"
SLOT_PASSED = "the slot's day ended without the session starting: book another"
_NAMESPACE = uuid5(NAMESPACE_URL, "https://newborn-ledger/remote-window")


class SessionState(StrEnum):
    BOOKED = "booked"
    IN_PROGRESS = "in-progress"
    ENDED = "ended"
    CANCELLED = "cancelled"


LIVE = (SessionState.BOOKED, SessionState.IN_PROGRESS)


def session_id(service_request_id: UUID, number: int) -> UUID:
    """The request's `number`th session (1, 2, …): deterministic, so the sessions of a
    request are found by trying 1, 2, … until one is missing."""
    return uuid5(_NAMESPACE, f"{service_request_id}#{number}")


@stored_as("domain.kernel.remote_window")
class RemoteWindowSession(Aggregate):
    """A remote virtual window session for one request: booked by the receiving office."""

    class Booked(Aggregate.Created):
        service_request_id: UUID
        case_id: UUID
        service: str
        number: int
        receiving: WindowOffice
        handling: WindowOffice
        slot: Slot
        booked_by: str
        note: str

    class Started(Aggregate.Event):
        by: str
        office: WindowOffice
        at: str

    class Joined(Aggregate.Event):
        party: str
        by: str
        at: str

    class Ended(Aggregate.Event):
        by: str
        at: str
        participants: list[str]
        outcome: str

    class Cancelled(Aggregate.Event):
        by: str
        office: WindowOffice
        reason: str

    @staticmethod
    def create_id(service_request_id: UUID, number: int, **_: Any) -> UUID:
        return session_id(service_request_id, number)

    @event(Booked)
    def __init__(
        self,
        service_request_id: UUID,
        case_id: UUID,
        service: str,
        number: int,
        receiving: WindowOffice,
        handling: WindowOffice,
        slot: Slot,
        booked_by: str,
        note: str,
    ) -> None:
        self.service_request_id, self.case_id, self.service = service_request_id, case_id, service
        self.number = number
        self.receiving, self.handling, self.slot = receiving, handling, slot
        self.booked_by, self.note = booked_by, note
        self.state = SessionState.BOOKED
        self.joined: list[str] = []
        self.started_at: str | None = None
        self.ended_at: str | None = None
        self.outcome: str | None = None
        self.cancel_reason: str | None = None

    @classmethod
    def book(
        cls,
        request: ServiceRequest,
        number: int,
        by_office: WindowOffice,
        by: str,
        slot: Slot,
        note: str = "",
    ) -> RemoteWindowSession:
        """The receiving office books a session for a request it received (or is to
        receive) for another locality's office."""
        receiving = WindowOffice(request.receiving_locality, request.authority)
        handling = WindowOffice(request.handling_locality, request.authority)
        if receiving.locality == handling.locality:
            raise InvalidSessionError(
                "A remote window joins two localities: this request is received and handled "
                "in the same one",
                service_request_id=str(request.id),
            )
        if request.state not in HOLDING:
            raise RequestNotOpenError(
                "The request is not open at the window (decided, withdrawn or not sent yet)",
                service_request_id=str(request.id),
            )
        if by_office != receiving:
            raise WrongOfficeError("The receiving office books the session")
        return cls(
            service_request_id=request.id,
            case_id=request.case_id,
            service=request.service,
            number=number,
            receiving=receiving,
            handling=handling,
            slot=slot,
            booked_by=by,
            note=_text(note, "note"),
        )

    @property
    def is_live(self) -> bool:
        return self.state in LIVE

    def side_of(self, office: WindowOffice) -> str | None:
        """'receiving' or 'handling' for one of the session's offices, else None."""
        if office == self.receiving:
            return "receiving"
        return "handling" if office == self.handling else None

    def start(self, by_office: WindowOffice, by: str, at: datetime) -> None:
        """Either office opens the session (the applicant sits at the receiving window), by
        the end of its slot's day."""
        self._require(SessionState.BOOKED)
        if self.lapsed(at):
            raise SessionStateError(SLOT_PASSED, session_id=str(self.id))
        self._side(by_office, "receiving", "handling")
        self._started(by=by, office=by_office, at=_stamp(at))

    def join(self, by_office: WindowOffice, by: str, party: str, at: datetime) -> None:
        """A party takes part: an office for itself; the applicant, recorded by the receiving
        office (where the applicant stands). A party joined already is not recorded again."""
        if party not in PARTIES:
            raise InvalidSessionError(f"A party is one of {', '.join(PARTIES)}", field="party")
        self._require(*LIVE)
        self._side(by_office, "handling" if party == "handling" else "receiving")
        if party not in self.joined:
            self._joined(party=party, by=by, at=_stamp(at))

    def end(self, by_office: WindowOffice, by: str, outcome: str, at: datetime) -> None:
        """The handling office ends the session, saying what came of it; it decides the
        request by its usual approve or reject."""
        self._require(SessionState.IN_PROGRESS)
        self._side(by_office, "handling")
        self._ended(
            by=by, at=_stamp(at), participants=list(self.joined), outcome=_text(outcome, "outcome")
        )

    def cancel(self, by_office: WindowOffice, by: str, reason: str) -> None:
        """Either office cancels a session not started, naming why."""
        self._require(SessionState.BOOKED)
        self._side(by_office, "receiving", "handling")
        if not reason.strip():
            raise InvalidSessionError("A cancellation names its reason", field="reason")
        self._cancelled(by=by, office=by_office, reason=_text(reason, "reason"))

    def lapsed(self, at: datetime) -> bool:
        """Booked, and its slot's day is over at `at` (it can no longer start)."""
        return self.state == SessionState.BOOKED and at >= self.slot.lapses_at

    def call_off(self, request: ServiceRequest, at: datetime) -> bool:
        """The ledger's own cancellation of a booked session whose request left the window
        or whose slot's day is over (reason REQUEST_GONE or SLOT_PASSED, by AUTOMATIC, for
        the receiving office that booked it). True if called off."""
        if self.state != SessionState.BOOKED:
            return False
        if request.state not in HOLDING:
            reason = REQUEST_GONE
        elif self.lapsed(at):
            reason = SLOT_PASSED
        else:
            return False
        self._cancelled(by=AUTOMATIC, office=self.receiving, reason=reason)
        return True

    def _require(self, *states: SessionState) -> None:
        if self.state not in states:
            raise SessionStateError(
                f"The session is {self.state}; this step needs it {' or '.join(states)}",
                session_id=str(self.id),
            )

    def _side(self, office: WindowOffice, *sides: str) -> None:
        if self.side_of(office) not in sides:
            who = " or ".join(f"the {s} office" for s in sides)
            raise WrongOfficeError(f"Only {who} takes this step", session_id=str(self.id))

    @event(Started)
    def _started(self, by: str, office: WindowOffice, at: str) -> None:
        self.state, self.started_at = SessionState.IN_PROGRESS, at

    @event(Joined)
    def _joined(self, party: str, by: str, at: str) -> None:
        self.joined = [*self.joined, party]

    @event(Ended)
    def _ended(self, by: str, at: str, participants: list[str], outcome: str) -> None:
        self.state, self.ended_at, self.outcome = SessionState.ENDED, at, outcome

    @event(Cancelled)
    def _cancelled(self, by: str, office: WindowOffice, reason: str) -> None:
        self.state, self.cancel_reason = SessionState.CANCELLED, reason


def _stamp(at: datetime) -> str:
    return at.astimezone(CST).isoformat(timespec="seconds")


def _text(value: str, name: str) -> str:
    text = value.strip()
    if len(text) > MAX_NOTE:
        raise InvalidSessionError(f"'{name}' is at most {MAX_NOTE} characters", field=name)
    return text


def next_step(
    session: RemoteWindowSession, request: ServiceRequest, now: datetime | None = None
) -> dict[str, Any] | None:
    """Who acts next on the session, what and by when (None: nothing is left to do). After
    the session, the request's own next step: its receipt by the receiving office first (the
    handling office decides a received request), or the family's answer to a notice."""
    receiving, handling = session.receiving, session.handling
    at_receiving = f"{receiving.authority} {receiving.locality}"
    at_handling = f"{handling.authority} {handling.locality}"
    if session.state == SessionState.BOOKED:
        if request.state not in HOLDING:
            return None  # the request left the window: the ledger calls the session off
        if now is not None and session.lapsed(now):
            action = "book another session: this one's slot passed without it starting"
            return _next("office", at_receiving, action, request.due, [receiving])
        return _next(
            "offices",
            f"{receiving.authority} {receiving.locality} and {handling.locality}",
            "join the session by its start (either office starts it)",
            session.slot.starts_at,
            [receiving, handling],
        )
    if session.state == SessionState.IN_PROGRESS:
        return _next("office", at_handling, "end the session", session.slot.ends_at, [handling])
    if request.state == RequestState.SUPPLEMENT_REQUESTED:
        action = "answer the one-time notice (补正) at the receiving window"
        return _next("family", "the applicant", action, request.family_due, [])
    if request.state not in HOLDING:
        return None  # decided or withdrawn: nothing is left of the session
    if session.state == SessionState.CANCELLED:
        action = "book another session, or the request goes on without one"
        return _next("office", at_receiving, action, request.due, [receiving])
    if request.state == RequestState.DISPATCHED:
        action = "receive the request (the handling office decides it once received)"
        return _next("office", at_receiving, action, request.due, [receiving])
    action = "decide the request (approve or reject)"
    return _next("office", at_handling, action, request.due, [handling])


def _next(
    party: str, who: str, action: str, due: str | None, offices: Sequence[WindowOffice]
) -> dict[str, Any]:
    return {
        "party": party,
        "who": who,
        "action": action,
        "due": due,
        "offices": [o.to_dict() for o in offices],
    }


# role → event → fields shown in a case's history (data minimisation, as the case's own
# events: domain/births/history.py). Clerks' actor ids are shown to admins only; notes and
# outcomes (free text a clerk may fill with personal data) to the two offices and admins.
VISIBLE: dict[str, dict[str, tuple[str, ...]]] = {
    "office": {
        "Booked": ("service_request_id", "service", "receiving", "handling", "slot", "note"),
        "Started": ("office", "at"),
        "Joined": ("party", "at"),
        "Ended": ("at", "participants", "outcome"),
        "Cancelled": ("office", "reason"),
    },
    "family": {
        "Booked": ("service", "receiving", "handling", "slot"),
        "Started": ("at",),
        "Joined": ("party", "at"),
        "Ended": ("at", "participants"),
        "Cancelled": (),
    },
}
_INTERNAL = ("originator_id", "originator_version", "timestamp", "originator_topic")


def session_entry(role: str, stream: str, event: CanMutateAggregate[Any]) -> dict[str, Any]:
    """One session event as the case history shows it to `role` (`stream`: the session's
    service, as "remote-window:<service>")."""
    name = type(event).__name__
    fields = vars(event)
    if role == "admin":
        keys: Sequence[str] = [k for k in fields if k not in _INTERNAL]
    else:
        keys = VISIBLE.get(role, {}).get(name, ())
    data = {k: _plain(fields[k]) for k in keys if k in fields}
    return {
        "stream": stream,
        "event": name,
        "version": event.originator_version,
        "at": event.timestamp.isoformat(),
        "data": {"session_id": str(event.originator_id), **data},
    }


def _plain(value: object) -> object:
    if isinstance(value, UUID):
        return str(value)
    to_dict = getattr(value, "to_dict", None)
    return to_dict() if callable(to_dict) else value
