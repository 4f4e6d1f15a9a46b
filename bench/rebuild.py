"""Rebuild: a projection replayed over a 1M-event ledger log, against raw select + decode."""

from __future__ import annotations

import json
import time
import zlib
from typing import Any

from eventsourcing.utils import get_topic

from adapters.bootstrap import build
from adapters.partitioned_rebuild import rebuild_in_parts as in_parts
from adapters.settings import Settings
from bench import pgdb, synthetic
from domain.births.birth_case import BirthCase
from engine.projection_runner import DEFAULT_BATCH

NOTIFIED = get_topic(BirthCase.Notified)


class _OutOfTimeError(Exception):
    """Raised from the progress callback to stop a rebuild at a page boundary."""


def rebuild(settings: Settings, name: str, max_seconds: float) -> dict[str, Any]:
    """Empty the view and replay the log into it, stopping after `max_seconds` (each page is
    its own transaction, so stopping between pages leaves a consistent, resumable view)."""
    container = build(settings)
    reached = [0]
    started = time.perf_counter()

    def progress(position: int, head: int) -> None:
        reached[0] = position
        if time.perf_counter() - started > max_seconds:
            raise _OutOfTimeError

    try:
        try:
            container.projections.rebuild(name, progress=progress)
            finished = True
        except _OutOfTimeError:
            finished = False
        elapsed = time.perf_counter() - started
        topics = list(container.projections.get(name).topics)
        head = container.ledger.recorder.max_notification_id() or 0
    finally:
        container.close()
    applied = count_events(settings.postgres.schema, topics, reached[0])
    return {
        "projection": name,
        "events": applied,
        "elapsed_s": elapsed,
        "events_per_s": applied / elapsed,
        "position": reached[0],
        "head": head,
        "log_events_of_topics": count_events(settings.postgres.schema, topics, head),
        "finished": finished,
        "topics": topics,
    }


def rebuild_in_parts(
    settings: Settings, name: str, parts: int, max_seconds: float
) -> dict[str, Any]:
    """Empty the view and replay the log into it with `parts` processes (each its share of
    the cases), each stopping at a page boundary after `max_seconds` from the start."""
    container = build(settings)
    started = time.perf_counter()
    try:
        done = in_parts(settings, container.projections, name, parts, stop_after_s=max_seconds)
        elapsed = time.perf_counter() - started
        topics = list(container.projections.get(name).topics)
    finally:
        container.close()
    return {
        "projection": name,
        "parts": parts,
        "events": done.applied,
        "elapsed_s": elapsed,
        "events_per_s": done.applied / elapsed,
        "positions": [p.position for p in done.parts],
        "applied_per_part": [p.applied for p in done.parts],
        "head": done.head,
        "log_events_of_topics": count_events(settings.postgres.schema, topics, done.head),
        "finished": done.finished,
    }


def count_events(schema: str, topics: list[str], upto: int) -> int:
    with pgdb.connect() as conn:
        row = conn.execute(
            f"SELECT count(*) FROM {schema}.caseledger_events "
            "WHERE notification_id <= %s AND topic = ANY(%s)",
            (upto, topics),
        ).fetchone()
    return int(row[0]) if row else 0


def raw_select_decode(schema: str, topics: list[str], upto: int, max_seconds: float) -> float:
    """Events per second: the same notifications (topics, order, page size) selected with
    psycopg, decompressed and JSON-decoded, and nothing else."""
    query = (
        f"SELECT notification_id, originator_id, originator_version, topic, state "
        f"FROM {schema}.caseledger_events WHERE notification_id > %s AND notification_id <= %s "
        "AND topic = ANY(%s) ORDER BY notification_id LIMIT %s"
    )
    done, position = 0, 0
    started = time.perf_counter()
    with pgdb.connect() as conn:
        while time.perf_counter() - started < max_seconds:
            rows = conn.execute(query, (position, upto, topics, DEFAULT_BATCH)).fetchall()
            if not rows:
                break
            for row in rows:
                json.loads(zlib.decompress(row[4]))
            done += len(rows)
            position = rows[-1][0]
    return done / (time.perf_counter() - started)


def add_filler_cases(schema: str, count: int) -> float:
    """Grow the ledger to `count` more cases, each with one real BirthCase.Notified state (a
    copy of a template case's, under a new random id), generated inside PostgreSQL."""
    started = time.perf_counter()
    with pgdb.connect() as conn:
        conn.execute(
            f"INSERT INTO {schema}.caseledger_events "
            "(originator_id, originator_version, topic, state) "
            "SELECT gen_random_uuid(), 1, topic, state FROM "
            f"(SELECT topic, state FROM {schema}.caseledger_events WHERE topic = %s LIMIT 1) t, "
            "generate_series(1, %s)",
            (NOTIFIED, count),
        )
    pgdb.vacuum(schema, "caseledger_events")
    return time.perf_counter() - started


def cases_in(schema: str) -> int:
    with pgdb.connect() as conn:
        row = conn.execute(
            f"SELECT count(*) FROM {schema}.caseledger_events WHERE topic = %s", (NOTIFIED,)
        ).fetchone()
    return int(row[0]) if row else 0


def write_log(
    settings: Settings, template: synthetic.Template, first: int, count: int
) -> dict[str, float]:
    started = time.perf_counter()
    written = synthetic.write_cases(settings, template, "rb", first, count)
    pgdb.vacuum(settings.postgres.schema, "caseledger_events")
    elapsed = time.perf_counter() - started
    return {"events": written, "elapsed_s": elapsed, "events_per_s": written / elapsed}


IN_MEMORY = {
    "case_status": "projections.case_status:CaseStatusProjection:InMemoryCaseStatus",
    "office_queue": "projections.office_queue:OfficeQueueProjection:InMemoryOfficeQueue",
    "locality_stats": "projections.locality_stats:LocalityStatsProjection:InMemoryLocalityStats",
    "flows": "projections.flows:FlowsProjection:InMemoryFlows",
}


def in_memory(settings: Settings, name: str, batch: int = 5000, rounds: int = 3) -> list[float]:
    """Events per CPU second of `name` rebuilt into an in-memory view, in pages of `batch`, from
    events read and decoded beforehand (the bench log): the projection's Python cost per event,
    without I/O."""
    import importlib

    from eventsourcing.persistence import Tracking

    from engine.memo import REBUILD_CAPACITY
    from engine.page_reader import decoder_of

    module, projection_name, view_name = IN_MEMORY[name].split(":")
    found = importlib.import_module(module)
    container = build(settings)
    try:
        app = container.ledger
        topics = list(container.projections.get(name).topics)
        notifications = app.recorder.select_notifications(start=None, limit=10**7, topics=topics)
        decode = decoder_of(app)
        events = [(decode(n), n.id) for n in notifications]
    finally:
        container.close()
    rates = []
    for _ in range(rounds):
        projection = getattr(found, projection_name)(view=getattr(found, view_name)())
        projection.view.clear(app.name)  # as a rebuild does: the memo knows the view is empty
        projection.view.memo.resize(REBUILD_CAPACITY)
        started = time.process_time()  # CPU time: the cores are shared with other work
        after = None
        for i in range(0, len(events), batch):
            page = events[i : i + batch]
            projection.process_batch(page, Tracking(app.name, page[-1][1]), after)
            after = page[-1][1]
        rates.append(len(events) / (time.process_time() - started))
    return rates
