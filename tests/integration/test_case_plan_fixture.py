"""Plans an earlier main stored (dict payloads, version 1) replay into the decider's typed
state, and the decider, given them, decides nothing twice (fixture stores: see
test_stored_event_fixture.py)."""

from __future__ import annotations

from pathlib import Path
from typing import cast
from uuid import UUID

from adapters.bootstrap import Container
from domain.births.planning import BirthPlanInputs
from domain.births.wing import BIRTHS
from domain.kernel.case_plan import CasePlan
from domain.kernel.routing import Plan
from domain.kernel.saga import CaseNotified, PlanState, evolve
from domain.orchestrator import saga_of
from tests.integration.test_stored_event_fixture import era, manifest, store

SAGA = saga_of(BIRTHS)
__all__ = ["era", "store"]  # the fixtures, shared with the fixture store's own tests
WITHDRAWN_OR_WAITING = ("planned", "withdrawn")
# a result was issued (and stands, or is asked again, or was revoked on a void)
ISSUED = ("approved", "correction-requested", "revocation-requested", "revoked")


def test_every_stored_plan_replays_into_the_typed_state(store: Container, era: Path) -> None:
    for name, expected in manifest(era).items():
        if name == "skipped":
            continue  # its notification was skipped by hand: it never reached the Orchestrator
        case_id = UUID(expected["case_id"])
        plan: object = store.orchestrator.repository.get(CasePlan.create_id(case_id))
        assert isinstance(plan, CasePlan), name
        state = cast("PlanState[BirthPlanInputs]", plan.state)
        assert isinstance(state.inputs, BirthPlanInputs), name
        assert state.plan is None or isinstance(state.plan, Plan), name
        requests = {**expected["requests"], **expected.get("resubmissions", {})}  # the latest
        sent = {s for s, r in requests.items() if r["state"] not in WITHDRAWN_OR_WAITING}
        assert sent <= set(state.dispatched), name
        issued = {s for s, r in requests.items() if r["state"] in ISSUED}
        assert state.approved == issued, name
        ended = ("completed", "voided", "closed")
        assert state.closed == (expected["case_state"] in ended), name
        # delivered again: only today's reference data may revise (and so dispatch) what
        # still waits; once that is taken into account, nothing more
        notified = CaseNotified(case_id, state.inputs.facts)
        again = SAGA.decide(state, notified)
        assert {type(d).__name__ for d in again} <= {"PlanRevised", "DispatchOrdered"}, name
        for decision in again:
            state = evolve(state, decision)
        assert SAGA.decide(state, notified) == [], name
