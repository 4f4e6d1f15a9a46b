"""Batch helpers of engine.rows: cyclic GC paused only during a batch, `changed`."""

from __future__ import annotations

import gc
from dataclasses import replace
from typing import Any

import pytest
from eventsourcing.persistence import Tracking

from engine.rows import Rows, changed
from projections.case_status import CaseStatusProjection, InMemoryCaseStatus
from projections.case_status_model import ServiceRow

ROW = ServiceRow("r", "c", "vaccination", 1, "planned", "a", "h", "r", None, False, None, False,
                 False, (), "t")  # fmt: skip


class Probe(CaseStatusProjection):
    """Records whether the collector ran during its batch."""

    enabled: list[bool]

    def apply(self, event: Any, position: int, rows: Rows) -> None:
        self.enabled.append(gc.isenabled())


@pytest.mark.parametrize("before", [True, False])
def test_the_collector_is_paused_in_a_batch_and_restored(before: bool) -> None:
    probe = Probe(view=InMemoryCaseStatus())
    probe.enabled = []
    (gc.enable if before else gc.disable)()
    try:
        probe.process_batch([(object(), 1)], Tracking("app", 1), strict=False)
        assert probe.enabled == [False]
        assert gc.isenabled() is before
    finally:
        gc.enable()


def test_changed_is_replace_and_refuses_unknown_fields() -> None:
    assert changed(ROW, state="received", due="2026-01-01") == replace(
        ROW, state="received", due="2026-01-01"
    )
    assert ROW.state == "planned"
    with pytest.raises(TypeError):
        changed(ROW, stat="received")
    assert changed(ROW) == ROW
    carrying = replace(ROW)
    vars(carrying)["_note"] = "kept"  # not a field (as a document row's parsed work)
    copy = changed(carrying, state="received")
    assert copy == replace(ROW, state="received")
    assert vars(copy)["_note"] == "kept"
    with pytest.raises(TypeError):
        changed(carrying, stat="received")


class Spent(CaseStatusProjection):
    """Records whether the collector ran while its batch's rows were written."""

    enabled: list[bool]

    def apply(self, event: Any, position: int, rows: Rows) -> None:
        """Nothing to apply."""

    def finish(self, rows: Rows) -> None:
        view = self.view
        write = view._write

        def spy(handle: Any, changes: Any) -> None:
            self.enabled.append(gc.isenabled())
            write(handle, changes)

        view._write = spy  # type: ignore[method-assign]


def test_the_collector_stays_paused_while_the_batch_is_written() -> None:
    spent = Spent(view=InMemoryCaseStatus())
    spent.enabled = []
    gc.enable()
    spent.process_batch([(object(), 1)], Tracking("app", 1), strict=False)
    assert spent.enabled == [False]
    assert gc.isenabled()
