"""How the kernel's values are stored in events (domain/wings.py registers them with every
wing's on both applications).

Each value is written as `{"_type_": name, "_data_": dict}`, where the dict is what version 1
of its events stored in place of the value, so an upcast is the transcoding's `decode`.
"""

from __future__ import annotations

from typing import Any, Generic, Protocol, Self, TypeVar

from eventsourcing.persistence import Transcoding

from domain.kernel.applicants import IdentityCheckAsDict
from domain.kernel.disclosure import DispatchPayload
from domain.kernel.rated_unit import RatedUnit
from domain.kernel.results import Result
from domain.kernel.routing import Plan, Route
from domain.kernel.window_values import Slot, WindowOffice


class StoredAsDict(Protocol):
    """A value that gives the dict it is stored as, and is made again from it."""

    def to_dict(self) -> object: ...

    @classmethod
    def from_dict(cls, data: Any) -> Self: ...


V = TypeVar("V", bound=StoredAsDict)


class AsDict(Transcoding, Generic[V]):
    """The transcoding of a value stored as its `to_dict()`, read back by `from_dict`."""

    def __init__(self, cls: type[V], name: str) -> None:
        self.type, self.name = cls, name
        self._read = cls.from_dict

    def encode(self, obj: V) -> object:
        return obj.to_dict()

    def decode(self, data: Any) -> V:
        return self._read(data)


ROUTE = AsDict(Route, "route")
DISPATCH_PAYLOAD = AsDict(DispatchPayload, "dispatch_payload")
RESULT = AsDict(Result, "result")
PLAN = AsDict(Plan, "plan")  # the saga's plan (CasePlan events)
WINDOW_OFFICE = AsDict(WindowOffice, "window_office")  # a remote window session's office
WINDOW_SLOT = AsDict(Slot, "window_slot")  # and its slot
RATED_UNIT = AsDict(RatedUnit, "rated_unit")  # a rated case's unit, in its snapshots
KERNEL_TRANSCODINGS: tuple[Transcoding, ...] = (
    ROUTE,
    DISPATCH_PAYLOAD,
    RESULT,
    PLAN,
    IdentityCheckAsDict(),
    RATED_UNIT,
    WINDOW_OFFICE,
    WINDOW_SLOT,
)
