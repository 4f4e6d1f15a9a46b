"""How the kernel's values are stored in events, for the applications that register them.

Each value is written as `{"_type_": name, "_data_": dict}`, where the dict is what version 1
of its events stored in place of the value, so an upcast is the transcoding's `decode`.
Every application that decodes these events registers them: the Orchestrator writes the
CasePlan's and the CaseLedger, its follower, reads them with its own transcoder.
"""

from __future__ import annotations

from typing import Any

from eventsourcing.persistence import Transcoding

from domain.kernel.routing import Plan

# --- the saga's values (CasePlan events) ---------------------------------------------------


class PlanAsDict(Transcoding):
    type = Plan
    name = "plan"

    def encode(self, obj: Plan) -> dict[str, Any]:
        return obj.to_dict()

    def decode(self, data: Any) -> Plan:
        return Plan.from_dict(data)


PLAN = PlanAsDict()
SAGA_TRANSCODINGS: tuple[Transcoding, ...] = (PLAN,)
