"""`newborn-ledger worker` as its own process on PostgreSQL carries out what the API records."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from adapters.bootstrap import build
from adapters.settings import Settings
from domain.births.commands import NotifyBirth
from tests.conftest import make_facts
from tests.pg import ledger_env, postgres_settings


def worker_env(settings: Settings) -> dict[str, str]:
    return {**os.environ, **ledger_env(settings)}


@pytest.mark.postgres
def test_a_separate_worker_plans_and_dispatches() -> None:
    settings = postgres_settings("worker_test").with_changes(embedded_worker=False)
    api_side = build(settings)  # the API process: records commands, runs no processing
    worker = subprocess.Popen(
        [sys.executable, "-m", "entry.cli", "worker"],
        env=worker_env(settings),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        outcome = api_side.ledger.notify_birth(NotifyBirth("m-w", make_facts("MR-W"), b"{}"))
        api_side.after_command()  # embedded_worker=False: this does nothing
        deadline = time.monotonic() + 30
        while not api_side.ledger.get_case(outcome.case_id).planned_services:
            assert worker.poll() is None, "the worker died"
            assert time.monotonic() < deadline, "the worker did not plan the case in 30 s"
            time.sleep(0.2)
        assert len(api_side.ledger.get_case(outcome.case_id).planned_services) == 5
    finally:
        worker.send_signal(signal.SIGTERM)
        output, _ = worker.communicate(timeout=30)
        api_side.close()
    assert worker.returncode == 0, output.decode()
    assert b"worker stopped" in output
