"""Poison events seen from outside (issue #16): a family signs in after a message PostgreSQL
cannot project; the parked event in the admin's route, /metrics and the command line."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from adapters.bootstrap import Container, build
from adapters.settings import Settings
from api.app import create_app
from entry.cli import main
from tests.conftest import make_facts
from tests.integration.test_poison_events import POISON, Refusal, record_birth

PHONE = make_facts().mother.phone


@pytest.fixture
def pg_container() -> Iterator[Container]:
    """PostgreSQL with a separate worker: commands leave the projections to `tick`."""
    from tests.pg import postgres_settings

    built = build(replace(postgres_settings("poison_http"), embedded_worker=False))
    yield built
    built.close()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.postgres
def test_a_family_signs_in_after_a_message_postgresql_cannot_project(
    pg_container: Container,
) -> None:
    container = pg_container
    poison_case, _ = record_birth(container, "MR-\x00-1")  # FHIR intake bypassed
    _, code = record_birth(container, "MR-0002")
    container.tick()  # the worker's round
    admin = bearer(container.actors.add("admin", None)[1])
    hospital = bearer(container.actors.add("hospital", make_facts().facility_uscc)[1])
    with TestClient(create_app(container, close_on_shutdown=False)) as client:
        signed_in = client.post("/track", json={"tracking_code": code, "verifier": PHONE})
        assert signed_in.status_code == 201, signed_in.text
        listed = client.get("/admin/parked-events", headers=admin)
        assert listed.status_code == 200
        body = listed.json()
        first = body["events"][0]
        assert (first["view"], first["originator_id"], first["error"]) == (
            "case_status",
            str(poison_case),
            "psycopg.DataError",
        )
        assert body["parked"]["case_status"] == len(body["events"])
        assert body["parked"]["office_queue"] == 0
        assert "\\u0000" not in listed.text
        assert client.get("/admin/parked-events", headers=hospital).status_code == 404
        assert client.get("/admin/parked-events").status_code == 401
        wrong = client.get("/admin/parked-events?state=lost", headers=admin)
        assert wrong.status_code == 422
        metrics = client.get("/metrics").text
        assert f'newborn_ledger_parked_events{{view="case_status"}} {len(body["events"])}.0' in (
            metrics
        )


def test_projections_status_retry_and_skip_on_the_command_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("NEWBORN_LEDGER_PERSISTENCE", "sqlite")
    monkeypatch.setenv("NEWBORN_LEDGER_SQLITE_DIR", str(tmp_path / "var"))
    settings = Settings(persistence="sqlite", sqlite_dir=str(tmp_path / "var"))
    container = build(replace(settings, embedded_worker=False))
    Refusal(container.projections.case_status.view, lambda: ValueError("refused"))
    case_id, _ = record_birth(container, POISON)
    container.tick()
    first, second, *_ = container.projections.parked()["case_status"]
    container.close()

    assert main(["projections", "status"]) == 0
    status = capsys.readouterr().out
    assert f"case_status: 0 behind, {len(_) + 2} parked\n" in status
    assert f"  parked at {first.position}: BirthCase.Notified of {case_id} v1: ValueError: " in (
        status
    )
    assert "office_queue: 0 behind\n" in status
    # This process has no refusal: the fix is released, the event applies.
    assert main(["projections", "retry", "case_status", str(first.position)]) == 0
    assert f"parked event {first.position} applied" in capsys.readouterr().out
    assert main(["projections", "retry", "case_status", str(first.position)]) == 2
    assert "no event parked at position" in capsys.readouterr().err
    assert main(["projections", "skip", "case_status", str(second.position), "--by", "ops"]) == 0
    assert f"parked event {second.position} skipped by ops" in capsys.readouterr().out
    assert main(["projections", "skip", "nope", "1"]) == 2
    capsys.readouterr()
    assert main(["projections", "status"]) == 0
    assert f"case_status: 0 behind, {len(_)} parked, 1 skipped" in capsys.readouterr().out
