"""Personal data never reaches the logs, whatever the level, even when things go wrong."""

from __future__ import annotations

import logging
from pathlib import Path

import orjson
import pytest
from starlette.testclient import TestClient

from adapters.bootstrap import Container
from api.app import create_app
from tests.unit.test_fhir_intake import FIXTURES, USCC


def test_a_whole_intake_logs_no_personal_data(
    container: Container, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    raw = (FIXTURES / "notification-full.json").read_bytes()
    message = orjson.loads(raw)
    mother = next(e["resource"] for e in message["entry"] if e["resource"].get("id") == "mother")
    secrets = [mother["identifier"][0]["value"], mother["telecom"][0]["value"], "王芳", "李安然"]
    token = container.actors.add("hospital", USCC)[1]
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/fhir+json"}
    with TestClient(create_app(container, close_on_shutdown=False)) as client:
        assert (
            client.post("/fhir/$process-message", content=raw, headers=headers).status_code == 200
        )
        broken = raw.replace(b'"birthDate": "2026-11-20"', b'"birthDate": "2026-13-45"', 1)
        assert (
            client.post("/fhir/$process-message", content=broken, headers=headers).status_code
            == 400
        )
        client.post("/track", json={"tracking_code": "NOPE", "verifier": secrets[0][-6:]})
    container.tick()
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert logged  # something was logged, at DEBUG at least
    for secret in secrets:
        assert secret not in logged


def test_the_read_audit_holds_no_personal_data(
    container: Container, caplog: pytest.LogCaptureFixture
) -> None:
    """Reads of a case are recorded as ids, roles and scopes: none of the case's data, in the
    rows, in the audit's SQLite file, or in the logs."""
    caplog.set_level(logging.DEBUG)
    raw = (FIXTURES / "notification-full.json").read_bytes()
    message = orjson.loads(raw)
    mother = next(e["resource"] for e in message["entry"] if e["resource"].get("id") == "mother")
    secrets = [mother["identifier"][0]["value"], mother["telecom"][0]["value"], "王芳", "李安然"]
    hospital = {"Authorization": f"Bearer {container.actors.add('hospital', USCC)[1]}"}
    admin = {"Authorization": f"Bearer {container.actors.add('admin', None)[1]}"}
    with TestClient(create_app(container, close_on_shutdown=False)) as client:
        answer = client.post(
            "/fhir/$process-message",
            content=raw,
            headers={**hospital, "Content-Type": "application/fhir+json"},
        )
        case = answer.headers["location"]
        container.tick()
        for headers in (hospital, admin):
            assert client.get(case, headers=headers).status_code == 200
            assert client.get(case + "/history", headers=headers).status_code == 200
        audit = client.get("/audit", headers=admin)
    assert len(audit.json()["rows"]) == 4
    stored = audit.text
    if container.settings.persistence == "sqlite":
        stored += (
            (Path(container.settings.sqlite_dir) / "audit.sqlite")
            .read_bytes()
            .decode("utf-8", "replace")
        )
    logged = "\n".join(r.getMessage() for r in caplog.records)
    for secret in secrets:
        assert secret not in stored
        assert secret not in logged
