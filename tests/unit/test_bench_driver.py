"""The lifecycle bench's simulated offices: they work from their queues and finish every case."""

from __future__ import annotations

from adapters.bootstrap import Container
from bench.offices import Driver
from projections.office_queue import REQUESTS


def test_offices_working_their_queues_complete_every_case(memory_container: Container) -> None:
    driver = Driver(memory_container, memory_container.tick, offices=2)
    try:
        completed = driver.run("drv", range(3))
    finally:
        driver.close()
    requests = memory_container.projections.office_queue_view.select(REQUESTS)
    assert completed == 3
    assert {r.state for r in requests} == {"approved"}
    assert driver.decisions == 2 * len(requests)  # one receive and one approve per request


def test_a_wave_without_dispatched_work_decides_nothing(memory_container: Container) -> None:
    driver = Driver(memory_container, memory_container.tick, offices=1)
    try:
        driver.run("drv", range(1))
        assert driver.wave() == 0
    finally:
        driver.close()
