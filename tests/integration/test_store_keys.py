"""A store opens only with the cipher keys it was written with; a rotation keeps it readable."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from eventsourcing.cipher import AESCipher
from eventsourcing.utils import Environment
from starlette.testclient import TestClient

from adapters.bootstrap import Container, StoreUnavailableError, build
from adapters.keys import StoreKeyError, fingerprint
from adapters.settings import Settings
from adapters.store_keys import key_record
from api.app import create_app
from domain.births.commands import NotifyBirth
from entry.cli import main
from projections.case_document import DOCUMENTS, SEALED
from tests.conftest import make_facts

A = base64.b64encode(bytes(range(32))).decode()
B = base64.b64encode(bytes(range(1, 33))).decode()


def written(settings: Settings, ref: str = "MR-KEY-1") -> Container:
    container = build(settings)
    container.ledger.notify_birth(NotifyBirth(f"m-{ref}", make_facts(ref), b"{}"))
    container.after_command()
    return container


def refused(settings: Settings) -> str:
    with pytest.raises(StoreKeyError) as raised:
        build(settings).close()
    return str(raised.value)


def test_another_key_no_key_or_a_key_on_a_plain_store_is_refused(settings: Settings) -> None:
    written(settings.with_changes(cipher_key=A)).close()
    assert "not configured (fingerprint " + fingerprint(A)[:12] in refused(
        settings.with_changes(cipher_key=B)
    )
    assert "NEWBORN_LEDGER_CIPHER_KEY is not set" in refused(settings)
    build(settings.with_changes(cipher_key=A)).close()  # the right key still opens it


def test_a_key_on_a_store_written_without_one_is_refused(settings: Settings) -> None:
    written(settings).close()
    assert "written without a cipher key" in refused(settings.with_changes(cipher_key=A))


def test_a_store_written_before_the_record_is_judged_by_its_events(settings: Settings) -> None:
    container = written(settings.with_changes(cipher_key=A))
    forget_keys(container)  # as a store written before key fingerprints were recorded
    container.close()
    assert "written with another cipher key" in refused(settings.with_changes(cipher_key=B))
    assert "written with a cipher key" in refused(settings)
    again = build(settings.with_changes(cipher_key=A))
    record = key_record(again.ledger)
    assert record is not None
    assert record.read() == {fingerprint(A)}
    again.close()


def forget_keys(container: Container) -> None:
    record = key_record(container.ledger)
    assert record is not None
    with record.datastore.transaction(commit=True) as curs:
        curs.execute(f"DELETE FROM {record.table}")


def test_a_rotation_writes_with_the_new_key_and_reads_the_old_events(settings: Settings) -> None:
    before = written(settings.with_changes(cipher_key=A))
    case_id = before.ledger.notify_birth(NotifyBirth("m-old", make_facts("MR-OLD"), b"{}")).case_id
    before.after_command()
    old_document = before.projections.case_status_view.document(str(case_id))
    code = before.ledger.get_case(case_id).tracking_code
    before.close()
    rotated = written(settings.with_changes(cipher_key=B, old_cipher_keys=(A,)), "MR-NEW")
    assert rotated.ledger.get_case(case_id).facts.mother.name == "王芳"
    assert rotated.projections.case_status_view.document(str(case_id)) == old_document
    found = rotated.projections.case_status_view.by_tracking_code(code)  # old key's digest
    assert found is not None
    assert found.case_id == str(case_id)
    newest = rotated.ledger.recorder.select_notifications(start=None, limit=1000)[-1]
    assert opens(B, newest.state)
    assert not opens(A, newest.state)
    new_case = rotated.ledger.notify_birth(NotifyBirth("m-new", make_facts("MR-NEW-2"), b"{}"))
    rotated.after_command()
    sealed = rotated.projections.case_status_view.get(DOCUMENTS, str(new_case.case_id))
    assert sealed is not None
    assert sealed.body.startswith(SEALED)
    opened = base64.b64decode(sealed.body[len(SEALED) :])
    assert opens(B, opened)  # the family document too is sealed with the new key
    assert not opens(A, opened)
    record = key_record(rotated.ledger)
    assert record is not None
    assert record.read() == {fingerprint(A), fingerprint(B)}
    rotated.close()
    # the old events are still under the old key: dropping it is refused, not a 500 later
    assert "not configured (fingerprint " + fingerprint(A)[:12] in refused(
        settings.with_changes(cipher_key=B)
    )


def opens(key: str, state: bytes) -> bool:
    try:
        AESCipher(Environment(env={"CIPHER_KEY": key})).decrypt(state)
    except ValueError:
        return False
    return True


def test_readiness_fails_when_the_store_was_written_with_another_key(settings: Settings) -> None:
    container = written(settings.with_changes(cipher_key=A))
    with TestClient(create_app(container)) as client:
        assert client.get("/readyz").status_code == 200
        record = key_record(container.ledger)
        assert record is not None
        record.add({fingerprint(B)})  # another process wrote with a key this one lacks
        answer = client.get("/readyz")
    assert answer.status_code == 503
    assert answer.json()["type"] == "/problems/cipher-key-mismatch"
    assert B not in answer.text
    assert A not in answer.text


@pytest.mark.parametrize("command", ["check", "worker", "serve"])
def test_check_worker_and_serve_refuse_to_start_with_another_key(
    command: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    store = tmp_path / "var"
    written(Settings(persistence="sqlite", sqlite_dir=str(store), cipher_key=A)).close()
    monkeypatch.setenv("NEWBORN_LEDGER_PERSISTENCE", "sqlite")
    monkeypatch.setenv("NEWBORN_LEDGER_SQLITE_DIR", str(store))
    monkeypatch.setenv("NEWBORN_LEDGER_CIPHER_KEY", B)
    assert main([command]) == 2
    err = capsys.readouterr().err
    assert "written with a cipher key that is not configured" in err
    assert "Traceback" not in err
    assert B not in err
    monkeypatch.delenv("NEWBORN_LEDGER_CIPHER_KEY")
    assert main([command]) == 2
    assert "NEWBORN_LEDGER_CIPHER_KEY is not set" in capsys.readouterr().err


@pytest.mark.postgres
def test_a_store_without_the_record_table_and_no_table_creation_is_a_clear_refusal() -> None:
    from tests.pg import postgres_settings

    settings = postgres_settings("keys_upgrade")
    container = written(settings)
    record = key_record(container.ledger)
    assert record is not None
    with record.datastore.transaction(commit=True) as curs:
        curs.execute(f"DROP TABLE {record.table}")  # as a store made before the record existed
    container.close()
    with pytest.raises(StoreUnavailableError, match="NEWBORN_LEDGER_CREATE_TABLES=yes"):
        build(settings.with_changes(create_tables=False))
    build(settings).close()  # a process that creates tables records the key again
    build(settings.with_changes(create_tables=False)).close()


@pytest.mark.postgres
def test_a_start_that_fails_half_way_gives_its_shares_of_the_pool_back(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A build whose third application failed to open kept the first two open: their shares
    of the process's one pool were never given back, so it never closed."""
    from eventsourcing.persistence import OperationalError

    from adapters import pool
    from tests.pg import postgres_settings

    settings = postgres_settings("keys_pool")
    written(settings).close()
    assert pool.users(settings.postgres) == 0

    class Unreachable:
        name = "ActorDirectory"

        def __init__(self, env: object = None) -> None:
            raise OperationalError("the server went away")

    monkeypatch.setattr("adapters.bootstrap.ActorDirectory", Unreachable)
    with pytest.raises(StoreUnavailableError) as failed:
        build(settings)
    # while the error is kept (a log record, a caller's report), its traceback holds the
    # applications made before the failure: only closing them gives their shares back
    assert failed.value.__traceback__ is not None
    assert pool.users(settings.postgres) == 0
    for _ in range(2):  # a refused key closes what it built too
        monkeypatch.undo()
        refused(settings.with_changes(cipher_key=B))
        assert pool.users(settings.postgres) == 0
