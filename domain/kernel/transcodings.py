"""How the kernel's values are stored in events (domain/wings.py registers them with every
wing's on both applications).

Each value is written as `{"_type_": name, "_data_": dict}`, where the dict is what version 1
of its events stored in place of the value, so an upcast is the transcoding's `decode`.
Every application that decodes these events registers them: each writes its own and reads
its leader's events with its own transcoder (the CaseLedger and the Orchestrator follow
each other).
"""

from __future__ import annotations

from typing import Any

from eventsourcing.persistence import Transcoding

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
