"""Starting on PostgreSQL: each failure said in words, waiting with backoff, one DDL at a time."""

from __future__ import annotations

import threading
from dataclasses import replace
from typing import Any

import psycopg
import pytest

from adapters import pg_start
from adapters.bootstrap import Container, StoreUnavailableError, build
from adapters.pg_start import PostgresStartError, wait_for_server
from adapters.settings import PostgresSettings, Settings
from tests.pg import postgres_settings

Connection = psycopg.Connection[tuple[object, ...]]

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg() -> PostgresSettings:
    return postgres_settings("start_checks").postgres


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"port": 1}, "server unreachable: nothing answers at 127.0.0.1:1"),
        ({"dbname": "newborn_ledger_no_such_db"}, "database 'newborn_ledger_no_such_db' does"),
        ({"user": "newborn_ledger_no_such_user"}, "authentication refused for user 'newborn_"),
    ],
)
def test_each_failure_to_start_is_said_in_words(
    pg: PostgresSettings, change: dict[str, Any], words: str
) -> None:
    settings = Settings(persistence="postgres", postgres=replace(pg, **change), startup_wait_s=0)
    with pytest.raises(StoreUnavailableError, match="Cannot use PostgreSQL") as raised:
        build(settings)
    assert words in str(raised.value)
    assert "couldn't get a connection" not in str(raised.value)


def test_too_many_connections_is_said_in_words(pg: PostgresSettings) -> None:
    refused = psycopg.OperationalError(
        'connection to server at "127.0.0.1", port 5432 failed: FATAL:  sorry, too many '
        "clients already"
    )
    found = pg_start.diagnose(refused, pg)
    assert found.transient
    assert found.message.startswith("too many connections")


class FakeClock:
    def __init__(self) -> None:
        self.now, self.sleeps = 0.0, list[float]()

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def test_an_unreachable_server_is_waited_for_with_capped_backoff(pg: PostgresSettings) -> None:
    clock = FakeClock()
    with pytest.raises(PostgresStartError, match="server unreachable"):
        wait_for_server(replace(pg, port=1), 30, clock.sleep, lambda: clock.now)
    assert clock.sleeps == [0.5, 1.0, 2.0, 4.0, 8.0, 8.0, 6.5]  # doubling, capped, 30 s in all


def test_a_refusal_that_waiting_cannot_mend_is_not_retried(pg: PostgresSettings) -> None:
    clock = FakeClock()
    with pytest.raises(PostgresStartError, match="does not exist"):
        wait_for_server(replace(pg, dbname="newborn_ledger_no_such_db"), 30, clock.sleep)
    assert clock.sleeps == []


def test_a_server_that_comes_up_while_waited_for_is_used(
    pg: PostgresSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    real, attempts = pg_start.connect, []

    def server_up_at_third_try(settings: PostgresSettings) -> Connection:
        attempts.append(settings)
        if len(attempts) < 3:
            raise psycopg.OperationalError("connection failed: Connection refused")
        return real(settings)

    monkeypatch.setattr(pg_start, "connect", server_up_at_third_try)
    clock = FakeClock()
    conn = wait_for_server(pg, 60, clock.sleep, lambda: clock.now)
    assert conn.execute("SELECT 1").fetchone() == (1,)
    conn.close()
    assert clock.sleeps == [0.5, 1.0]


def test_processes_starting_together_create_the_tables_one_at_a_time() -> None:
    for attempt in range(3):
        settings = postgres_settings(f"ddl_race_{attempt}")
        for _tables in ("fresh", "existing"):  # a first start, then a restart on its tables
            built, failures = start_together(settings, 4)
            for container in built:
                container.close()
            assert failures == []
            assert len(built) == 4


def start_together(settings: Settings, count: int) -> tuple[list[Container], list[str]]:
    """`count` builds on a fresh schema, released at the same moment."""
    barrier, built, failures = threading.Barrier(count), list[Container](), list[str]()

    def start() -> None:
        barrier.wait()
        try:
            built.append(build(settings))
        except Exception as exc:  # every failure is the finding
            failures.append(f"{type(exc).__name__}: {exc}")

    threads = [threading.Thread(target=start) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return built, failures
