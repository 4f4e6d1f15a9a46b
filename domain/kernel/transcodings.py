"""How the kernel's values are stored in events, and the applications' hook that registers them.

Each value is written as `{"_type_": name, "_data_": dict}`, where the dict is what version 1
of its events stored in place of the value, so an upcast is the transcoding's `decode`.
Every application that decodes these events registers them: each writes its own and reads
its leader's events with its own transcoder (the CaseLedger and the Orchestrator follow
each other).
"""

from __future__ import annotations

from typing import Any, ClassVar

from eventsourcing.persistence import JSONTranscoder, Transcoding

from domain.kernel.disclosure import DispatchPayload
from domain.kernel.results import Result
from domain.kernel.routing import Plan, Route


class RouteAsDict(Transcoding):
    type = Route
    name = "route"

    def encode(self, obj: Route) -> dict[str, Any]:
        return obj.to_dict()

    def decode(self, data: Any) -> Route:
        return Route.from_dict(data)


class DispatchPayloadAsDict(Transcoding):
    type = DispatchPayload
    name = "dispatch_payload"

    def encode(self, obj: DispatchPayload) -> dict[str, Any]:
        return obj.to_dict()

    def decode(self, data: Any) -> DispatchPayload:
        return DispatchPayload.from_dict(data)


class ResultAsDict(Transcoding):
    type = Result
    name = "result"

    def encode(self, obj: Result) -> dict[str, str]:
        return obj.to_dict()

    def decode(self, data: Any) -> Result:
        return Result.from_dict(data)


class PlanAsDict(Transcoding):
    """The saga's plan (CasePlan events)."""

    type = Plan
    name = "plan"

    def encode(self, obj: Plan) -> dict[str, Any]:
        return obj.to_dict()

    def decode(self, data: Any) -> Plan:
        return Plan.from_dict(data)


ROUTE = RouteAsDict()
DISPATCH_PAYLOAD = DispatchPayloadAsDict()
RESULT = ResultAsDict()
PLAN = PlanAsDict()
KERNEL_TRANSCODINGS: tuple[Transcoding, ...] = (ROUTE, DISPATCH_PAYLOAD, RESULT, PLAN)
SAGA_TRANSCODINGS: tuple[Transcoding, ...] = (PLAN,)


class RegistersTranscodings:
    """An application mixin: registers `transcodings` besides the library's own."""

    transcodings: ClassVar[tuple[Transcoding, ...]] = KERNEL_TRANSCODINGS

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)  # type: ignore[misc]
        for transcoding in self.transcodings:
            transcoder.register(transcoding)
