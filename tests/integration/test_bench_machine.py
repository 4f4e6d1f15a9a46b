"""The bench's reading of the PostgreSQL server's CPU (lifecycle CPU per case)."""

from __future__ import annotations

import pytest

from bench.machine import postgres_cpu, postgres_cpu_since
from tests.pg import TEST_DBNAME, _connect, postgres_settings, server_from_env

pytestmark = pytest.mark.postgres


def test_the_servers_cpu_grows_by_the_work_a_kept_connection_makes_it_do() -> None:
    postgres_settings("bench_machine")  # the test database exists
    with _connect(server_from_env(), TEST_DBNAME) as conn:
        before = postgres_cpu()
        for _ in range(3):  # a few hundred ms of server CPU, far above the 10 ms clock tick
            conn.execute("SELECT count(*) FROM generate_series(1, 2000000)").fetchone()
        used = postgres_cpu_since(before)
    assert before  # the server's processes are seen
    assert used >= 0.05
