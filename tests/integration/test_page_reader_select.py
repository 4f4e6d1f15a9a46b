"""The page reader's own select on PostgreSQL returns the library's notifications: the same
ids, stored events and order for every start, stop, topic filter and limit; on another store
(or a recorder that selects its own way) it is the library's select itself."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from eventsourcing.postgres import PostgresApplicationRecorder

from adapters.bootstrap import Container, build
from adapters.settings import Settings
from engine.page_reader import select_after
from projections.case_status import CaseStatusProjection
from projections.office_queue import OfficeQueueProjection
from tests.integration.test_projections import full_case, store_settings, troubled_case


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def container(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Container]:
    settings: Settings = store_settings(request.param, tmp_path)
    built = build(settings)
    full_case(built)
    troubled_case(built)
    yield built
    built.close()


def test_select_after_is_the_librarys_select(container: Container) -> None:
    app = container.ledger
    if container.settings.persistence == "postgres":  # its own select, not the library's
        recorder = app.recorder
        assert isinstance(recorder, PostgresApplicationRecorder)
        library = PostgresApplicationRecorder.select_notifications
        assert getattr(recorder.select_notifications, "__func__", None) is library
    head = app.recorder.max_notification_id() or 0
    assert head > 20
    topic_sets: list[tuple[str, ...]] = [
        (),
        CaseStatusProjection.topics,
        OfficeQueueProjection.topics[:1],
        ("no.such:Topic",),
    ]
    for topics in topic_sets:
        for start in (None, 0, 1, head // 2, head - 1, head):
            for stop in (head, head // 2 + 3):
                for limit in (1, 7, 10_000):
                    expected = app.recorder.select_notifications(
                        start=start, limit=limit, stop=stop, topics=topics,
                        inclusive_of_start=False,
                    )  # fmt: skip
                    found = select_after(app, start, limit, stop, topics)
                    assert list(found) == list(expected)
                    assert [vars(n) for n in found] == [vars(n) for n in expected]
