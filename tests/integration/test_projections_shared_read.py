"""The tick's catch-up reads each page of the log once for the four projections: each still
applies its own part in its own transaction from its own position."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from adapters.bootstrap import PROJECTIONS, Container
from adapters.settings import Settings
from adapters.views import LedgerProjections, build_projections
from engine.projection_runner import catch_up, catch_up_together
from tests.integration.test_projections import (
    dumps,
    full_case,
    notify,
    store_settings,
    troubled_case,
)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    return store_settings(request.param, tmp_path)


def one_by_one(container: Container) -> LedgerProjections:
    """The same projections in memory, each caught up on its own (the reference)."""
    built = build_projections(Settings(persistence="memory"), container.ledger, PROJECTIONS)
    for projection in built.all().values():
        catch_up(container.ledger, projection)
    return built


def test_reading_together_gives_the_rows_of_reading_alone(
    container: Container, projections: LedgerProjections
) -> None:
    full_case(container)
    troubled_case(container)
    applied = catch_up_together(container.ledger, list(projections.all().values()), batch=7)
    assert applied > 0
    assert dumps(projections) == dumps(one_by_one(container))
    assert set(projections.lags().values()) == {0}


def test_projections_behind_and_ahead_each_catch_up_from_their_own_position(
    container: Container, projections: LedgerProjections
) -> None:
    notify(container, "MR-1")
    catch_up(container.ledger, projections.office_queue)  # ahead of the other three
    full_case(container, "MR-2")
    catch_up(container.ledger, projections.flows)  # further ahead
    troubled_case(container, "MR-3")
    catch_up_together(container.ledger, list(projections.all().values()), batch=5)
    assert dumps(projections) == dumps(one_by_one(container))
    assert set(projections.lags().values()) == {0}
    assert projections.catch_up() == 0


def test_each_page_is_read_once_for_all_four(
    container: Container, projections: LedgerProjections, monkeypatch: pytest.MonkeyPatch
) -> None:
    full_case(container)
    recorder, reads = container.ledger.recorder, list[Any]()
    select = recorder.select_notifications

    def counted(*args: Any, **kwargs: Any) -> Any:
        reads.append(kwargs.get("start"))
        return select(*args, **kwargs)

    monkeypatch.setattr(recorder, "select_notifications", counted)
    projections.catch_up(batch=10)
    head = recorder.max_notification_id() or 0
    assert 0 < len(reads) <= -(-head // 10)  # a read per page of the log, not per projection
    assert len(set(reads)) == len(reads)
