"""One PostgreSQL pool per process, and `serve` refusing more processes than connections."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import psycopg
import pytest

from adapters import pool
from adapters.bootstrap import build
from adapters.budget import Budget
from adapters.settings import Settings
from domain.births.commands import NotifyBirth
from entry.cli import main
from tests.conftest import make_facts
from tests.pg import TEST_DBNAME, ledger_env, postgres_settings

POOL_SIZE, MAX_OVERFLOW = 2, 1


def connections_to_the_test_database() -> int:
    pg = postgres_settings("budget_probe").postgres
    with psycopg.connect(
        host=pg.host, port=pg.port, user=pg.user, dbname="postgres", password=pg.password or None
    ) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = %s", (TEST_DBNAME,)
        ).fetchone()
    assert row is not None
    return int(row[0])


@pytest.mark.postgres
def test_a_process_holds_one_pool_for_its_applications_and_views() -> None:
    base = postgres_settings("one_pool")
    settings = replace(base, postgres=replace(base.postgres, pool_size=POOL_SIZE, max_overflow=1))
    before = connections_to_the_test_database()
    container = build(settings)
    for n in range(3):
        container.ledger.notify_birth(NotifyBirth(f"m-{n}", make_facts(f"MR-POOL-{n}"), b"{}"))
        container.after_command()
    container.tick()
    container.check_store()
    stores = {app.recorder.datastore for app in container.applications()}  # type: ignore[attr-defined]
    stores |= {p.view.datastore for p in container.projections.all().values()}
    stores.add(container.deliveries.store.datastore)  # type: ignore[attr-defined]
    stores.add(container.audit.store.datastore)  # type: ignore[attr-defined]
    stores.add(container.files.store.datastore)  # type: ignore[attr-defined]
    stores.add(container.sessions.datastore)  # type: ignore[attr-defined]
    stores.add(container.keys.store.datastore)  # type: ignore[attr-defined]
    assert len(stores) == 1
    # 5 applications, views, deliveries, read audit, documents, staff sessions, certificate keys
    assert pool.users(settings.postgres) == 11
    held = connections_to_the_test_database() - before
    assert 1 <= held <= POOL_SIZE + MAX_OVERFLOW  # four pools of 2 held 8 at least
    container.close()
    assert pool.users(settings.postgres) == 0
    assert connections_to_the_test_database() == before


def test_the_budget_counts_every_process_against_the_servers_limit() -> None:
    fits = Budget(
        api_processes=4, workers=1, pool_max=15, reserve=10, max_connections=100, server_reserved=3
    )
    assert (fits.needed, fits.available, fits.problem()) == (4 * 17 + 15, 87, None)
    over = replace(fits, api_processes=5)
    assert over.needed == 100
    reason = over.problem()
    assert reason is not None
    assert "5 API processes x (15 pool + 2 document reader) + 1 worker x 15 = 100" in reason
    assert "the server allows 87 (max_connections 100 - 3 reserved by the server" in reason


@pytest.mark.postgres
def test_serve_refuses_more_workers_than_the_server_has_connections_for(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    env = ledger_env(postgres_settings("budget_serve")) | {"NEWBORN_LEDGER_EMBEDDED_WORKER": "no"}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    for name in ("NEWBORN_LEDGER_HOST", "NEWBORN_LEDGER_CREATE_TABLES"):
        monkeypatch.setenv(name, "")  # serve sets them for its workers: undone after the test
        monkeypatch.delenv(name)
    started: list[str] = []

    def serve_workers(*args: object) -> int:
        started.append("uvicorn")
        return 0

    monkeypatch.setattr("entry.cli.serve_workers", serve_workers)
    assert main(["serve", "--workers", "8"]) == 2  # 8 x 17 + 15 > 100 - 3 - 10
    err = capsys.readouterr().err
    assert "connection budget exceeded: 8 API processes" in err
    assert "Traceback" not in err
    assert started == []
    assert main(["serve", "--workers", "2"]) == 0  # 2 x 17 + 15 fits
    assert started == ["uvicorn"]


def test_pool_settings_are_checked() -> None:
    with pytest.raises(Exception, match="POOL_SIZE"):
        Settings.from_env({"NEWBORN_LEDGER_POSTGRES_POOL_SIZE": "0"})
