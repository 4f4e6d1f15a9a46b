"""Which errors park an event, and what is recorded of them (never personal data).

The rule (docs/operations.md, "Parked events"): an error parks the event that caused it only
when applying that same event again would fail the same way:

- PostgreSQL data exceptions (SQLSTATE class 22, e.g. a NUL in text, a value out of range),
  integrity violations of the view's own rows (class 23) and program limits (class 54, e.g.
  an index row over the btree limit); psycopg's and SQLite's DataError; SQLite's integrity
  errors on the view's rows;
- any other exception raised by a projection's own Python code (KeyError, MissingRowError ...).

Everything else is transient and retried at the next tick as before, the view staying where
it is: lost or refused connections (class 08), serialization failures and deadlocks (40),
lock timeouts (55), a server out of resources or shutting down (53, 57), syntax or a missing
table or column (42: a deployment problem, true of every event, not of one), a pool timeout,
OSError, MemoryError, and a conflict on the view's tracking row (another runner).
"""

from __future__ import annotations

import sqlite3
import traceback
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import psycopg
from eventsourcing.persistence import PersistenceError
from eventsourcing.utils import get_topic

from engine.parked import PARKED_STATE, ParkedRow
from engine.rows import PositionMovedError, ViewBusyError

PARKING_CLASSES = {"22": "data exception", "23": "integrity violation", "54": "program limit"}
# Texts of errors raised before the server sees the value: fixed, and free of values.
CLIENT_REASONS = {"NUL (0x00)": "a text value contains a NUL character"}


def causes(error: BaseException) -> Iterator[BaseException]:
    """`error` and the errors it was raised from (eventsourcing wraps the driver's)."""
    seen: set[int] = set()
    found: BaseException | None = error
    while found is not None and id(found) not in seen:
        seen.add(id(found))
        yield found
        found = found.__cause__


def parks(error: BaseException) -> bool:
    """Whether `error`, raised applying one event, is deterministic: the event is parked."""
    if isinstance(error, (MemoryError, OSError, PositionMovedError, ViewBusyError)):
        return False  # the runner's own signals, or the machine's
    driver = _driver_error(error)
    if isinstance(driver, psycopg.Error):
        return _psycopg_parks(driver)
    if isinstance(driver, sqlite3.Error):
        return _sqlite_parks(driver)
    return not any(isinstance(e, PersistenceError) for e in causes(error))


def _driver_error(error: BaseException) -> BaseException | None:
    return next((e for e in causes(error) if isinstance(e, (psycopg.Error, sqlite3.Error))), None)


def _psycopg_parks(error: psycopg.Error) -> bool:
    state = error.sqlstate
    if state is None:  # raised by the client before sending: only data errors are ours
        return isinstance(error, psycopg.DataError)
    if (error.diag.table_name or "").endswith("_tracking"):
        return False  # another runner recorded the position
    return state[:2] in PARKING_CLASSES


def _sqlite_parks(error: sqlite3.Error) -> bool:
    if isinstance(error, sqlite3.IntegrityError):
        return "tracking" not in str(error)  # names only the table and columns
    return isinstance(error, sqlite3.DataError)


def error_name(error: BaseException) -> str:
    """The class of the error that explains the failure: the driver's when there is one."""
    found = _driver_error(error) or error
    kind = type(found)
    module = kind.__module__
    return kind.__name__ if module == "builtins" else f"{module}.{kind.__name__}"


def reason(error: BaseException) -> str:
    """A short reason with no value in it: never the exception's text, which can quote one."""
    driver = _driver_error(error)
    if isinstance(driver, psycopg.Error) and driver.sqlstate:
        kind = PARKING_CLASSES.get(driver.sqlstate[:2], "database error")
        return f"{kind} (SQLSTATE {driver.sqlstate}: {type(driver).__name__})"
    if driver is not None:
        text = str(driver)
        return next((r for k, r in CLIENT_REASONS.items() if k in text), type(driver).__name__)
    return f"{type(error).__name__} raised in {_where(error)}"


def _where(error: BaseException) -> str:
    """The module, function and line the error was raised at (code, never data)."""
    frames = traceback.extract_tb(error.__traceback__)
    if not frames:
        return "unknown code"
    last = frames[-1]
    return f"{last.filename.rsplit('/', 1)[-1]}:{last.name} line {last.lineno}"


def parked_row(application_name: str, event: Any, position: int, error: BaseException) -> ParkedRow:
    """What is recorded of an event parked at `position` because of `error`."""
    return ParkedRow(
        application_name=application_name,
        position=position,
        topic=get_topic(type(event)),
        originator_id=str(event.originator_id),
        originator_version=int(event.originator_version),
        error=error_name(error),
        reason=reason(error),
        parked_at=datetime.now(UTC).isoformat(),
        attempts=1,
        state=PARKED_STATE,
        resolved_by=None,
        resolved_at=None,
    )
