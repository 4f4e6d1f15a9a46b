"""locality_stats on SQLite and PostgreSQL with bad ratings called back: the roll-up rows
(county, city, province), the pooled samples and the follow-ups are rebuilt from the events
exactly as they were kept live, and as the in-memory view holds them."""

from __future__ import annotations

from uuid import UUID, uuid4

from adapters.bootstrap import Container
from adapters.follow_ups import record_call_back
from adapters.views import LedgerProjections
from domain.births.commands import RateService
from domain.births.rating import RecordCallBack, rated_unit
from domain.kernel.actors import Principal
from projections.events import month_of
from tests.integration.test_projections import (
    RESULTS,
    dumps,
    notify,
    reference,
    settings,
    settle,
    step,
)

__all__ = ["settings"]  # test_projections.py's stores (PostgreSQL in its own schema)


def rated_case(container: Container, record_ref: str, score: int) -> UUID:
    case_id = notify(container, record_ref)
    for service, result in RESULTS.items():
        step(container, case_id, service, "receive", receipt_number=f"R-{service}")
        step(container, case_id, service, "approve", result=result)
    container.ledger.rate(RateService(case_id, score, "办理太慢"))
    settle(container)
    return case_id


def test_roll_ups_and_follow_ups_rebuild_as_they_were_kept_live(
    container: Container, projections: LedgerProjections
) -> None:
    bad = rated_case(container, "MR-F1", 1)
    projections.catch_up()
    container.ledger.call_back(RecordCallBack(bad, "office:o1", "registered", "限期整改"))
    projections.catch_up()
    rated_case(container, "MR-F2", 5)
    projections.catch_up(batch=3)
    container.ledger.call_back(RecordCallBack(bad, "monitor:m1", "fixed"))
    projections.catch_up()
    view = projections.locality_stats.view
    unit = container.ledger.get_case(bad).rated_unit
    assert unit is not None
    follow_up = view.follow_up(str(bad))
    assert follow_up is not None
    assert (follow_up.call_backs, follow_up.outcome, follow_up.called_back_by) == (
        2,
        "fixed",
        "monitor",
    )
    month = follow_up.month
    province, city = view.figures("43", month), view.figures("4306", month)
    county = view.figures("430602", month)
    assert province.received == city.received == county.received > 0
    assert (province.completed, view.figures("42", month).completed) == (2, 2)
    rated = view.figures(unit.locality[:2], month)
    assert (rated.ratings, rated.bad_ratings, rated.average_rating) == (2, 1, 3.0)
    assert view.follow_ups(unit.locality[:2], month_of(follow_up.rated_at)) == [follow_up]
    live = dumps(projections)
    assert live == dumps(reference(container))
    projections.rebuild("locality_stats", batch=4)
    assert dumps(projections) == live
    assert "办理太慢" not in str(live["locality_stats"])  # the comment stays on the case


def test_a_rating_of_version_1_counts_in_the_unit_the_domain_implies(
    container: Container, projections: LedgerProjections
) -> None:
    """A case the family closed with one request received and none decided: its rating of
    version 1 (no unit) counts in the unit `rated_unit` names, which may call it back."""
    ledger = container.ledger
    case_id = notify(container, "MR-F3")
    step(container, case_id, "birth-certificate", "receive", receipt_number="R-1")
    case = ledger.get_case(case_id)
    case.close("family", "moved abroad")
    ledger.save(case)
    settle(container)
    implied = rated_unit(ledger.latest_requests(case_id, list(case.planned_services)))
    assert implied is not None
    case = ledger.get_case(case_id)
    case.rate(1, "没人理")  # no unit and no due date: version 1 as upcast_v1_v2 reads it
    ledger.save(case)
    projections.catch_up()
    view = projections.locality_stats.view
    follow_up = view.follow_up(str(case_id))
    assert follow_up is not None
    unit = (follow_up.locality, follow_up.authority, follow_up.service)
    assert unit == (implied.locality, implied.authority, implied.service)
    assert view.figures(implied.locality, follow_up.month).bad_ratings == 1
    office = Principal(uuid4(), "office", implied.locality, implied.authority)
    cmd = RecordCallBack(case_id, office.officer, "explained")
    record_call_back(container, office, cmd)
    projections.catch_up()
    called = view.follow_up(str(case_id))
    assert called is not None
    assert (called.call_backs, called.outcome, called.called_back_by) == (1, "explained", "office")
    live = dumps(projections)
    assert live == dumps(reference(container))
    projections.rebuild("locality_stats", batch=4)
    assert dumps(projections) == live
