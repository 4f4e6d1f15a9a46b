"""The command line: scriptable actor tokens, clear errors, the demo."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from adapters.settings import Settings
from entry.cli import main, repeated_background


@pytest.fixture
def sqlite_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("NEWBORN_LEDGER_PERSISTENCE", "sqlite")
    monkeypatch.setenv("NEWBORN_LEDGER_SQLITE_DIR", str(tmp_path / "var"))
    return tmp_path


def test_actor_add_prints_the_token_alone_on_the_last_line(
    sqlite_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert (
        main(
            [
                "actor",
                "add",
                "--role",
                "office",
                "--scope",
                "420102",
                "--authority",
                "public-security",
            ]
        )
        == 0
    )
    token = capsys.readouterr().out.strip().splitlines()[-1]
    assert token.startswith("nl_off_")
    assert " " not in token
    assert main(["actor", "list"]) == 0
    listing = capsys.readouterr().out
    assert '"role":"office"' in listing
    assert token not in listing
    assert main(["actor", "list", "--role", "admin"]) == 0
    assert capsys.readouterr().out == ""  # no admin yet


def test_bad_scope_is_a_clear_message_and_exit_2(
    sqlite_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["actor", "add", "--role", "hospital", "--scope", "not-a-uscc"]) == 2
    assert "unified social credit code" in capsys.readouterr().err


def test_a_coordinator_of_the_routing_desk_is_added_for_a_province_or_national(
    sqlite_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["actor", "add", "--role", "coordinator", "--scope", "42"]) == 0
    assert "added coordinator actor" in capsys.readouterr().out
    assert main(["actor", "add", "--role", "coordinator", "--scope", "national"]) == 0
    capsys.readouterr()
    assert main(["actor", "add", "--role", "coordinator", "--scope", "420102"]) == 2
    assert "coordinator's scope" in capsys.readouterr().err


def test_bad_config_is_a_clear_message_and_exit_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("NEWBORN_LEDGER_PERSISTENCE", "mongo")
    assert main(["check"]) == 2
    err = capsys.readouterr().err
    assert "NEWBORN_LEDGER_PERSISTENCE" in err
    assert "Traceback" not in err


def test_unreachable_postgres_is_a_clear_message(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("NEWBORN_LEDGER_PERSISTENCE", "postgres")
    monkeypatch.setenv("NEWBORN_LEDGER_POSTGRES_PORT", "1")  # nothing listens on port 1
    monkeypatch.setenv("NEWBORN_LEDGER_STARTUP_WAIT", "0")  # give up at once, not in 60 s
    assert main(["check"]) == 2
    err = capsys.readouterr().err
    assert "server unreachable: nothing answers at 127.0.0.1:1" in err
    assert "Traceback" not in err


def test_revoke_unknown_actor(sqlite_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["actor", "revoke", "nope"]) == 2
    assert main(["actor", "revoke", "00000000-0000-0000-0000-000000000000"]) == 2
    assert "No such actor" in capsys.readouterr().err


def test_check_reports_the_store(sqlite_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check"]) == 0
    assert '"persistence":"sqlite"' in capsys.readouterr().out


def test_keygen_prints_a_usable_key(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert main(["keygen"]) == 0
    key = capsys.readouterr().out.strip()
    monkeypatch.setenv("NEWBORN_LEDGER_CIPHER_KEY", key)
    monkeypatch.setenv("NEWBORN_LEDGER_PERSISTENCE", "memory")
    assert main(["check"]) == 0


def test_projections_rebuild_and_status(
    sqlite_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from adapters.bootstrap import build
    from adapters.settings import Settings
    from domain.births.commands import NotifyBirth
    from tests.conftest import make_facts

    container = build(Settings(persistence="sqlite", sqlite_dir=str(sqlite_env / "var")))
    container.ledger.notify_birth(NotifyBirth("m-1", make_facts(), b"{}"))
    container.after_command()
    before = container.projections.case_status_view.dump()
    container.close()
    assert main(["projections", "rebuild"]) == 0
    captured = capsys.readouterr()
    assert "case_status: rebuilt" in captured.out
    assert "[####" in captured.err
    assert main(["projections", "status"]) == 0
    assert "case_status: 0 behind" in capsys.readouterr().out
    again = build(Settings(persistence="sqlite", sqlite_dir=str(sqlite_env / "var")))
    assert again.projections.case_status_view.dump() == before
    again.close()
    assert main(["projections", "rebuild", "nope"]) == 2


@pytest.fixture
def store(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """`settings` (SQLite or PostgreSQL), also in the environment the command reads."""
    if settings.persistence == "postgres":
        from tests.pg import ledger_env

        for name, value in ledger_env(settings).items():
            monkeypatch.setenv(name, value)
    else:
        monkeypatch.setenv("NEWBORN_LEDGER_PERSISTENCE", "sqlite")
        monkeypatch.setenv("NEWBORN_LEDGER_SQLITE_DIR", str(settings.sqlite_dir))
    return settings


def notified(settings: Settings, *, processed: bool) -> int:
    """A birth notified on the store (its follow-on events too when `processed`: without
    them the log holds no request events); the log's head."""
    from adapters.bootstrap import build
    from domain.births.commands import NotifyBirth
    from tests.conftest import make_facts

    container = build(settings)
    container.ledger.notify_birth(NotifyBirth("m-1", make_facts(), b"{}"))
    if processed:
        container.after_command()
    head = container.projections.app.recorder.max_notification_id() or 0
    container.close()
    return head


@pytest.mark.parametrize(("view", "processed"), [("case_status", True), ("office_search", False)])
def test_a_rebuild_a_running_worker_overtook_says_so(
    store: Settings,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    view: str,
    processed: bool,
) -> None:
    """The view is emptied, then a worker (another container on the store, its own
    connections) catches it up before the rebuild reads its first page: not "0 events
    applied" nor "nothing of its kinds", but who did it; a view with events of its kinds or
    none alike."""
    from adapters.bootstrap import build
    from engine import projection_runner

    head = notified(store, processed=processed)
    worker = build(store)
    real = projection_runner.catch_up

    def overtaken(app: Any, projection: Any, *args: Any) -> int:
        real(worker.projections.app, worker.projections.get(projection.name))
        assert worker.projections.lag(projection.name) == 0  # the worker wrote the head
        return real(app, projection, *args)

    monkeypatch.setattr(projection_runner, "catch_up", overtaken)
    try:
        assert main(["projections", "rebuild", view]) == 0
    finally:
        worker.close()
    assert capsys.readouterr().out == (
        f"{view}: emptied, and already up to date again: another process (a running "
        f"worker) applied the events up to position {head} meanwhile\n"
    )


def test_a_rebuild_of_a_view_with_no_events_of_its_kinds_says_so(
    store: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    """No worker runs: the view reaches the log's head with nothing applied, and says why."""
    head = notified(store, processed=False)  # a notification: no service request yet
    assert main(["projections", "rebuild", "office_search"]) == 0
    assert capsys.readouterr().out == (
        "office_search: emptied and replayed: the log has no events of its kinds, so there "
        f"was nothing to apply; its position is the log's head ({head})\n"
    )
    assert main(["projections", "rebuild", "case_status"]) == 0
    assert capsys.readouterr().out == (
        f"case_status: rebuilt: 1 event applied, up to position {head} (the log's head)\n"
    )


def test_a_rebuild_in_several_processes_needs_postgresql(
    sqlite_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["projections", "rebuild", "case_status", "--processes", "2"]) == 2
    assert "needs PostgreSQL" in capsys.readouterr().err
    assert main(["projections", "rebuild", "--processes", "0"]) == 2
    assert "--processes must be 1 or more" in capsys.readouterr().err
    assert main(["projections", "rebuild", "--processes", "2"]) == 0  # all: each in one process
    assert "case_status: emptied; the log has no events yet" in capsys.readouterr().out


@pytest.mark.postgres
def test_projections_rebuild_in_parts_on_postgresql(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from adapters.bootstrap import build
    from domain.births.commands import NotifyBirth
    from tests.conftest import make_facts
    from tests.pg import ledger_env, postgres_settings

    settings = postgres_settings("cli_parts")
    for name, value in ledger_env(settings).items():
        monkeypatch.setenv(name, value)
    container = build(settings)
    for n in range(4):
        container.ledger.notify_birth(NotifyBirth(f"m-{n}", make_facts(f"MR-{n}"), b"{}"))
    container.after_command()
    before = container.projections.case_status_view.dump()
    container.close()
    assert main(["projections", "rebuild", "--processes", "2"]) == 0
    captured = capsys.readouterr()
    assert "case_status: rebuilt" in captured.out
    assert "office_queue: rebuilt" in captured.out
    assert main(["projections", "status"]) == 0
    status = capsys.readouterr().out
    assert "case_status: 0 behind\n" in status
    assert "being rebuilt in parts" not in status
    again = build(settings)
    assert again.projections.case_status_view.dump() == before
    again.close()


def test_serve_with_several_embedded_workers_warns_before_it_starts(
    sqlite_env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    started: list[int] = []

    def serve_workers(app: str, host: str, port: int, workers: int, server: object) -> int:
        started.append(workers)  # instead of forking uvicorn workers
        return 0

    monkeypatch.setattr("entry.cli.serve_workers", serve_workers)
    for name in ("NEWBORN_LEDGER_HOST", "NEWBORN_LEDGER_CREATE_TABLES"):
        monkeypatch.setenv(name, os.environ.get(name, ""))  # serve sets them: undone after
        monkeypatch.delenv(name)
    assert main(["serve", "--workers", "2"]) == 0
    assert started == [2]
    assert "each of the 2 API workers runs the background work" in capsys.readouterr().err


def test_serving_several_workers_that_each_run_the_background_work_is_warned_about() -> None:
    embedded = Settings(persistence="sqlite")
    assert repeated_background(embedded, 1) is None
    warning = repeated_background(embedded, 3)
    assert warning is not None
    assert "each of the 3 API workers" in warning
    assert "NEWBORN_LEDGER_EMBEDDED_WORKER=no" in warning
    assert repeated_background(embedded.with_changes(embedded_worker=False), 3) is None


def test_keys_rotate_and_list(
    sqlite_env: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A rotation adds the office's next key; the list shows the first retired, kept."""
    monkeypatch.setenv("NEWBORN_LEDGER_CIPHER_KEY", keygen_key(capsys))
    assert main(["keys", "rotate", "--province", "43", "--authority", "health"]) == 0
    assert main(["keys", "rotate", "--province", "43", "--authority", "health"]) == 0
    capsys.readouterr()
    assert main(["keys", "list"]) == 0
    first, second = capsys.readouterr().out.strip().splitlines()
    assert first.startswith("urn:newborn-ledger:issuer:43:health\t1\t")
    assert "\tretired " in first
    assert second.endswith("\tsigning")
    assert main(["keys", "rotate", "--province", "4", "--authority", "health"]) == 2


def test_keys_withdraw_a_compromised_key(
    sqlite_env: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A withdrawal names the key and the new one; the list shows it withdrawn, by whom and
    why (decrypted), the new key signing; a key withdrawn twice, or of an office without
    keys, is a usage error (2), and so is an empty reason."""
    monkeypatch.setenv("NEWBORN_LEDGER_CIPHER_KEY", keygen_key(capsys))
    office = ["--province", "43", "--authority", "health"]
    assert main(["keys", "rotate", *office]) == 0
    capsys.readouterr()
    assert main(["keys", "withdraw", *office, "--reason", "leaked", "--by", "ops"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("withdrew urn:newborn-ledger:issuer:43:health: kid ")
    assert out[1].startswith("new signing key urn:newborn-ledger:issuer:43:health: generation 2")
    kid = out[0].rsplit(" ", 1)[1]
    assert main(["keys", "list"]) == 0
    first, second = capsys.readouterr().out.strip().splitlines()
    assert first.startswith(f"urn:newborn-ledger:issuer:43:health\t1\t{kid}\t")
    assert first.endswith(" by ops: leaked")
    assert "\twithdrawn " in first
    assert second.endswith("\tsigning")
    again = ["keys", "withdraw", *office, "--reason", "x", "--kid", kid]
    assert main(again) == 2
    assert "withdrawn already" in capsys.readouterr().err
    assert (
        main(["keys", "withdraw", "--province", "42", "--authority", "cdc", "--reason", "x"]) == 2
    )
    assert main(["keys", "withdraw", *office, "--reason", " "]) == 2


def keygen_key(capsys: pytest.CaptureFixture[str]) -> str:
    assert main(["keygen"]) == 0
    return capsys.readouterr().out.strip()
