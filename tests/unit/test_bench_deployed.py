"""The lifecycle bench with the worker in its own process: its offices and its log check."""

from __future__ import annotations

from pathlib import Path
from uuid import uuid4

from adapters.bootstrap import Container
from bench import deployed
from bench.messages import HUKOU
from bench.offices import Driver
from projections.office_queue import REQUESTS


def test_the_desks_serve_every_office_the_cases_are_received_at(
    memory_container: Container,
) -> None:
    driver = Driver(memory_container, memory_container.tick, offices=2)
    try:
        completed = driver.run("dep", range(len(HUKOU)))  # every hukou county once
    finally:
        driver.close()
    requests = memory_container.projections.office_queue_view.select(REQUESTS)
    received_at = {(r.receiving_locality, r.authority) for r in requests}
    assert completed == len(HUKOU)
    assert received_at  # the hub receives for the others (alliance)
    assert received_at <= set(deployed.offices())
    assert len(deployed.offices()) == len(set(deployed.offices()))


def test_the_worker_log_check_counts_error_lines(tmp_path: Path) -> None:
    log = tmp_path / "worker.log"
    log.write_text(
        '2026-12-05 08:37:21,397 WARNING apscheduler.scheduler: Execution of job "tick" '
        "skipped: maximum number of running instances reached (1)\n"
        "2026-12-05 08:37:22,001 ERROR adapters.scheduler: scheduled job tick failed\n"
        "Traceback (most recent call last):\n"
        '  File "adapters/scheduler.py", line 20, in run\n'
        "2026-12-05 08:37:23,000 INFO newborn_ledger: worker stopped\n"
    )
    assert deployed.worker_log(log) == {"worker_log_errors": 2}  # the WARNING is not one


def test_the_rate_after_the_fill_leaves_out_the_time_before_the_first_completion(
    memory_container: Container,
) -> None:
    bounds = deployed.Bounds(cases=10, seconds=1, in_flight=10, rate=10, drain_s=1)
    run = deployed.Run(memory_container, "bench_unit", bounds)
    assert run.after_fill(end=12.0) is None  # nothing completed yet
    seen = [10.0] * 3 + [11.0] * 2 + [12.0] * 5  # the first three end the fill
    run.completed = {uuid4(): t for t in seen}
    assert run.after_fill(end=12.0) == 7 / 2.0
