"""Reads over HTTP at fixed concurrency: family status (with its read audit, and the same
read without it), office queue pages, a bare endpoint, and the case as_of read."""

from __future__ import annotations

import time
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote
from uuid import UUID

import httpx

from adapters.bootstrap import Container, build
from adapters.settings import Settings
from bench import pgdb
from bench.asgi import BARE_PATH, UNAUDITED_PREFIX
from bench.messages import HOSPITAL, HUKOU, birth_facts
from bench.server import start_api
from bench.wrk import ReadRequest, read_load
from domain.births.birth_case import BirthCase
from domain.kernel.actors import AUTHORITIES

CONCURRENCY = 16
SAMPLE = 100  # distinct cases (or queues) cycled through by the load


def case_id(run: str, i: int) -> UUID:
    return BirthCase.create_id(HOSPITAL, birth_facts(run, i).record_ref)


# The lifecycle leaves every request approved: the queue read is the page of an office's
# decided work (its open work, the default page, is empty by then), 50 rows of it.
QUEUE_STATE = "approved"


def queue_path(locality: str, authority: str) -> str:
    return f"/offices/{locality}/{authority}/queue?state={QUEUE_STATE}&limit=50"


def office_queues(container: Container) -> list[tuple[str, str, str]]:
    """(locality, authority, token) for every office with decided work in its queue."""
    found = []
    view = container.projections.office_queue_view
    for locality in dict.fromkeys(("430602", *HUKOU)):
        for authority in AUTHORITIES:
            if view.queue(locality, authority, state=QUEUE_STATE, limit=1).total:
                token = container.actors.add("office", locality, authority, label="bench")[1]
                found.append((locality, authority, token))
    return found


def family_tokens(port: int, container: Container, run: str, cases: int) -> list[ReadRequest]:
    """POST /track (tracking code + the mother's phone) for a sample of cases, as families do."""
    requests = []
    for i in range(0, cases, max(1, cases // SAMPLE)):
        case = container.ledger.get_case(case_id(run, i))
        body = {"tracking_code": case.tracking_code, "verifier": birth_facts(run, i).mother.phone}
        answer = httpx.post(f"http://127.0.0.1:{port}/track", json=body, timeout=10)
        answer.raise_for_status()
        issued = answer.json()
        requests.append(ReadRequest(f"/cases/{issued['case_id']}", issued["token"]))
    return requests


def measure_reads(
    settings: Settings,
    run: str,
    cases: int,
    workers: int,
    seconds: float,
    log_dir: Path,
    nodelay: bool = True,
) -> dict[str, Any]:
    """Status, queue and bare reads against one server with `workers` workers."""
    container = build(settings)
    try:
        queues = [
            ReadRequest(queue_path(loc, auth), token)
            for loc, auth, token in office_queues(container)
        ]
        api, port = start_api(pgdb.server_env(settings), workers, log_dir, nodelay=nodelay)
        try:
            status = family_tokens(port, container, run, cases)
            unaudited = [ReadRequest(UNAUDITED_PREFIX + r.path, r.token) for r in status]
            loads = {
                "status": status,
                "status_unaudited": unaudited,
                "queue": queues,
                "bare": [ReadRequest(BARE_PATH)],
            }
            return {
                name: asdict(_load(port, requests, seconds)) for name, requests in loads.items()
            }
        finally:
            api.stop()
    finally:
        container.close()


def _load(port: int, requests: list[ReadRequest], seconds: float) -> Any:
    read_load(port, requests, concurrency=CONCURRENCY, max_requests=2000, max_seconds=1)  # warm
    return read_load(
        port,
        requests,
        concurrency=CONCURRENCY,
        max_requests=int(seconds * 50_000),
        max_seconds=seconds,
    )


def measure_as_of(
    settings: Settings, run: str, cases: int, moment: datetime, seconds: float, log_dir: Path
) -> dict[str, Any]:
    """GET /cases/{id}?as_of=… (admin) over a sample of the first `cases` cases."""
    container = build(settings)
    try:
        admin = container.actors.add("admin", None, label="bench")[1]
    finally:
        container.close()
    at = quote(moment.isoformat())
    requests = [
        ReadRequest(f"/cases/{case_id(run, i)}?as_of={at}", admin)
        for i in range(0, cases, max(1, cases // SAMPLE))
    ]
    api, port = start_api(pgdb.server_env(settings), 1, log_dir)
    try:
        probe = httpx.get(
            f"http://127.0.0.1:{port}{requests[0].path}",
            headers={"Authorization": f"Bearer {admin}"},
            timeout=10,
        )
        probe.raise_for_status()
        started = time.perf_counter()
        summary = asdict(_load(port, requests, seconds))
        summary["wall_s"] = time.perf_counter() - started
        summary["sample_view"] = probe.json()
        return summary
    finally:
        api.stop()
