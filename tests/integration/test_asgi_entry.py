"""The uvicorn factory: builds the app from the env and freezes the start-up heap."""

from __future__ import annotations

import gc
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from entry import asgi


def test_the_factory_builds_from_the_env_and_freezes_what_start_up_made(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NEWBORN_LEDGER_PERSISTENCE", "sqlite")
    monkeypatch.setenv("NEWBORN_LEDGER_SQLITE_DIR", str(tmp_path))
    monkeypatch.setenv("NEWBORN_LEDGER_EMBEDDED_WORKER", "no")
    gc.unfreeze()
    try:
        app = asgi.create()
        frozen = gc.get_freeze_count()
        assert frozen > 10_000  # the modules, models and the container built at start-up
        with TestClient(app) as client:
            assert client.get("/healthz").status_code == 200
        assert app.state.container.settings.sqlite_dir == str(tmp_path)
    finally:
        gc.unfreeze()  # this test process goes on: let its collector see everything again
