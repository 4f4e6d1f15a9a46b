"""Which errors park an event (deterministic) and which are retried (transient), and what is
recorded of them: the exception's class and a reason that never quotes its text."""

from __future__ import annotations

import sqlite3

import psycopg
import pytest
from eventsourcing import persistence
from psycopg import errors

from engine.poison import error_name, parks, reason
from engine.rows import MissingRowError, PositionMovedError, ViewBusyError

SECRET = "王芳 13800000000"  # what an exception's text could quote


def wrapped(driver: Exception, kind: type[Exception] = persistence.PersistenceError) -> Exception:
    """`driver` as eventsourcing raises it: its own error class, raised from the driver's."""
    try:
        try:
            raise driver
        except Exception as cause:
            raise kind(str(cause)) from cause
    except Exception as error:
        return error


@pytest.mark.parametrize(
    "error",
    [
        wrapped(psycopg.DataError("PostgreSQL text fields cannot contain NUL (0x00) bytes")),
        wrapped(
            errors.ProgramLimitExceeded("index row requires 12016 bytes"),
            persistence.OperationalError,
        ),
        wrapped(errors.StringDataRightTruncation(SECRET), persistence.DataError),
        wrapped(errors.NotNullViolation(SECRET), persistence.IntegrityError),
        wrapped(sqlite3.IntegrityError("NOT NULL constraint failed: case_status_cases.x")),
        MissingRowError("no case row"),
        KeyError(SECRET),
        TypeError(SECRET),
    ],
    ids=lambda e: error_name(e),
)
def test_deterministic_errors_park(error: Exception) -> None:
    assert parks(error)


@pytest.mark.parametrize(
    "error",
    [
        wrapped(errors.SerializationFailure(), persistence.OperationalError),
        wrapped(errors.DeadlockDetected(), persistence.OperationalError),
        wrapped(errors.LockNotAvailable(), persistence.OperationalError),
        wrapped(errors.AdminShutdown(), persistence.OperationalError),
        wrapped(psycopg.OperationalError("connection lost"), persistence.OperationalError),
        wrapped(psycopg.InterfaceError("the connection is closed"), persistence.InterfaceError),
        wrapped(errors.UndefinedTable(), persistence.ProgrammingError),
        wrapped(sqlite3.OperationalError("database is locked"), persistence.OperationalError),
        wrapped(sqlite3.IntegrityError("UNIQUE constraint failed: tracking.notification_id")),
        persistence.OperationalError("couldn't get a connection after 5.00 sec"),
        persistence.IntegrityError("Failed to record tracking for CaseLedger 7"),
        OSError("disk"),
        MemoryError(),
        PositionMovedError("moved"),
        ViewBusyError("busy"),
    ],
    ids=lambda e: error_name(e),
)
def test_transient_errors_do_not_park(error: Exception) -> None:
    assert not parks(error)


def test_the_reason_names_the_class_and_never_quotes_the_text() -> None:
    data = wrapped(errors.StringDataRightTruncation(SECRET), persistence.DataError)
    assert error_name(data) == "psycopg.errors.StringDataRightTruncation"
    assert reason(data) == "data exception (SQLSTATE 22001: StringDataRightTruncation)"
    nul = wrapped(psycopg.DataError("PostgreSQL text fields cannot contain NUL (0x00) bytes"))
    assert reason(nul) == "a text value contains a NUL character"
    assert reason(wrapped(sqlite3.IntegrityError(SECRET))) == "IntegrityError"
    with pytest.raises(KeyError) as raised:
        dict[str, int]()[SECRET]
    assert error_name(raised.value) == "KeyError"
    assert reason(raised.value).startswith("KeyError raised in test_poison_rule.py:")
    assert SECRET not in reason(raised.value)
