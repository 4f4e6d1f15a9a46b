"""The composition root's registry: one (projection, view) pair more is one projection more,
built on the store, caught up with the others, reporting lag and parked events."""

from __future__ import annotations

from abc import ABC
from dataclasses import dataclass
from typing import Any

from adapters.bootstrap import PROJECTIONS, Container
from adapters.views import build_projections
from domain.births.birth_case import BirthCase
from domain.births.commands import NotifyBirth
from engine.projection_runner import Registry
from engine.rows import Rows, Table, changed
from engine.view import TableProjection, TableView
from projections.events import topics_of
from tests.conftest import make_facts


@dataclass(frozen=True)
class CountRow:
    kind: str
    count: int


COUNTS = Table("counts", CountRow, ("kind",))


class NoticesView(TableView, ABC):
    """How many birth notifications there were: a projection the test adds."""

    name = "notices"
    tables = (COUNTS,)

    def notified(self) -> int:
        row = self.get(COUNTS, "notified")
        return 0 if row is None else row.count


class NoticesProjection(TableProjection[NoticesView]):
    name = "notices"
    topics = topics_of(BirthCase.Notified)

    def apply(self, event: Any, position: int, rows: Rows) -> None:
        if isinstance(event, BirthCase.Notified):
            row = rows.get(COUNTS, "notified") or CountRow("notified", 0)
            rows.put(COUNTS, changed(row, count=row.count + 1))


# The root's registry (adapters/bootstrap.py) with one line more.
ADDED: Registry = ((NoticesProjection, NoticesView),)
REGISTRY: Registry = (*PROJECTIONS, *ADDED)


def test_one_line_in_the_registry_adds_a_projection(container: Container) -> None:
    projections = build_projections(container.settings, container.ledger, REGISTRY)
    try:
        for n in range(3):
            facts = make_facts(f"MR-R{n}", child_name="张小明")
            container.ledger.notify_birth(NotifyBirth(f"m-R{n}", facts, b"{}"))
        container.processing.settle()
        assert projections.lags()["notices"] > 0
        projections.catch_up()
        notices = projections.get("notices").view
        assert isinstance(notices, NoticesView)
        assert notices.notified() == 3
        assert projections.lags() == dict.fromkeys([*projections.all()], 0)
        assert projections.parked()["notices"] == []
    finally:
        projections.close()
