"""Where two of the exception paths meet, on SQLite and PostgreSQL: a parked request blocked by
a rejection, a case closed while the desk could still route, a blocked request whose plan
changed. Each once left a request with nobody able to move it, or moved the wrong way."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any
from uuid import UUID

import orjson
import pytest

from adapters.bootstrap import Container
from domain.births.commands import ApplyAsFamily, CloseCase, NotifyBirth
from domain.births.facts import Parent
from domain.kernel.commands import Resubmit, RouteRequest
from domain.kernel.errors import InvalidTransitionError
from domain.kernel.identifiers import make_citizen_id
from domain.kernel.service_request import ServiceRequest
from domain.wings import list_in_force, load_national_list
from tests.conftest import RESULTS, make_facts, office_step

UNLISTED = replace(load_national_list(), version="test-unlisted", entries={})
WUHAN, SHENZHEN, YUEYANG = "420102", "440304", "430602"


def settle(container: Container) -> None:
    container.after_command()
    container.processing.settle()
    container.projections.catch_up()


def notify(container: Container, ref: str, home: str) -> UUID:
    mother = Parent(make_citizen_id(WUHAN, date(1994, 3, 8), 124), "王芳", None, WUHAN, home)
    facts = make_facts(ref, mother=mother, child_name="王小明")
    outcome = container.ledger.notify_birth(NotifyBirth(f"n-{ref}", facts, b"{}"))
    settle(container)
    return outcome.case_id


def step(container: Container, case_id: UUID, service: str, action: str, **kw: Any) -> None:
    request = container.ledger.latest_request(case_id, service)
    office_step(container.ledger, request.id, action, "office:test", **kw)
    settle(container)


def approve(container: Container, case_id: UUID, service: str) -> None:
    step(container, case_id, service, "receive", receipt_number=f"R-{service}")
    step(container, case_id, service, "approve", result=RESULTS[service])


def view(container: Container, case_id: UUID) -> dict[str, Any]:
    found: dict[str, Any] = orjson.loads(
        container.projections.case_status_view.document(case_id) or b"{}"
    )
    return found


def test_a_parked_request_blocked_by_a_rejection_is_routed_and_goes_on(
    container: Container,
) -> None:
    container.ledger.clock = lambda: datetime.fromisoformat("2026-12-07T10:00:00+08:00")
    with list_in_force(UNLISTED):  # no agreement and no list: household registration parks
        case_id = notify(container, "MR-PB", SHENZHEN)
        step(container, case_id, "birth-certificate", "receive", receipt_number="R-1")
        step(container, case_id, "birth-certificate", "reject", reason="不符", basis="Art. 38")
        hukou = container.ledger.latest_request(case_id, "household-registration")
        assert (hukou.state, hukou.route.manual_routing) == ("blocked", True)
        desk = container.projections.routing_desk_view.desk("42").rows
        assert [r.service_request_id for r in desk] == [str(hukou.id)]
        assert desk[0].family_locality == SHENZHEN  # where the family stands, not the decider
        route = RouteRequest(hukou.id, "coordinator:1", WUHAN, SHENZHEN, "off-site", "部平台")
        container.ledger.route(route)  # blocked, yet routable: dispatched once unblocked
        settle(container)
        assert not container.projections.routing_desk_view.desk("42").rows
        rejected = container.ledger.latest_request(case_id, "birth-certificate")
        container.ledger.resubmit(Resubmit(rejected.id, "family"))
        settle(container)
        approve(container, case_id, "birth-certificate")
        hukou = container.ledger.latest_request(case_id, "household-registration")
        assert (hukou.state, hukou.receiving_locality) == ("dispatched", SHENZHEN)
        waiting = view(container, case_id)["waiting_on"]
        assert all(w["party"] != "ledger" and w["due"] for w in waiting), waiting


def test_a_case_is_not_closed_while_the_desk_can_still_route_a_service(
    container: Container,
) -> None:
    container.ledger.clock = lambda: datetime.fromisoformat("2026-12-07T10:00:00+08:00")
    with list_in_force(UNLISTED):
        case_id = notify(container, "MR-PC", SHENZHEN)
        approve(container, case_id, "birth-certificate")
        step(container, case_id, "vaccination", "receive", receipt_number="R-V")
        step(container, case_id, "vaccination", "reject", reason="不符", basis="Art. 38")
        hukou = container.ledger.latest_request(case_id, "household-registration")
        assert (hukou.state, hukou.route.manual_routing) == ("planned", True)
        with pytest.raises(InvalidTransitionError, match="can still proceed"):
            container.ledger.close_as_family(CloseCase(case_id, "family", "later"))
        assert view(container, case_id)["next_action"].startswith("resubmit: vaccination")


def test_a_blocked_request_follows_the_plan_the_family_changed(container: Container) -> None:
    container.ledger.clock = lambda: datetime.fromisoformat("2026-12-07T10:00:00+08:00")
    case_id = notify(container, "MR-PR", YUEYANG)
    step(container, case_id, "birth-certificate", "receive", receipt_number="R-1")
    step(container, case_id, "birth-certificate", "reject", reason="不符", basis="Art. 38")
    hukou_id = ServiceRequest.create_id(case_id, "household-registration")
    assert container.ledger.get_request(hukou_id).receiving_locality == YUEYANG
    application = ApplyAsFamily(case_id, "王小明", "mother", SHENZHEN, None, consent=True)
    container.ledger.apply_as_family(application)  # the family moved to Shenzhen
    settle(container)
    hukou = container.ledger.get_request(hukou_id)
    assert (hukou.state, hukou.receiving_locality) == ("blocked", SHENZHEN)
    rejected = container.ledger.latest_request(case_id, "birth-certificate")
    container.ledger.resubmit(Resubmit(rejected.id, "family"))
    settle(container)
    approve(container, case_id, "birth-certificate")
    hukou = container.ledger.get_request(hukou_id)
    assert (hukou.state, hukou.receiving_locality) == ("dispatched", SHENZHEN)


def test_the_monitor_counts_office_decisions_not_the_familys_lapse(
    container: Container,
) -> None:
    """A notice the family never answers is withdrawn by the deadline job: no office decided,
    so nothing is counted against one; a decision after the family's answer is on time by
    the office's restarted time limit (domain reference §4.2)."""
    today = datetime.now(UTC)
    month = today.astimezone(timezone(timedelta(hours=8))).strftime("%Y-%m")
    container.ledger.clock = lambda: today - timedelta(days=45)
    lapsing = notify(container, "MR-LAPSE", YUEYANG)
    step(container, lapsing, "vaccination", "request-supplement", items=("预防接种证",))
    answered = notify(container, "MR-ANSWER", YUEYANG)
    step(container, answered, "vaccination", "receive", receipt_number="R-A")  # due in ~4 weeks
    container.ledger.clock = lambda: today - timedelta(days=20)
    step(container, answered, "vaccination", "request-supplement", items=("户口簿",))
    container.ledger.clock = lambda: today - timedelta(days=1)
    container.projections.catch_up()
    container.watch_deadlines()  # the first family's window is long past; the second's is not
    settle(container)
    assert container.ledger.latest_request(lapsing, "vaccination").state == "rejected"
    step(container, answered, "vaccination", "supplement", items=("户口簿",))
    # decided after the first due date, well within the one the answer restarted
    step(container, answered, "vaccination", "approve", result=RESULTS["vaccination"])
    figures = container.projections.locality_stats_view.figures(YUEYANG, month)
    assert (figures.decided, figures.rejected, figures.on_time_rate) == (1, 0, 1.0)
