"""Every NEWBORN_LEDGER_* variable the code reads, one line each: the "Environment" section of
`newborn-ledger --help` (all of them) and of each subcommand's help (its own, then a pointer).
tests/unit/test_cli_environment.py keeps this list and the code in step."""

from __future__ import annotations

import argparse
import textwrap
from dataclasses import dataclass

from adapters.settings import DELIVERY_SETTINGS, PREFIX, PostgresSettings, Settings


@dataclass(frozen=True)
class Variable:
    name: str  # without the NEWBORN_LEDGER_ prefix
    default: str  # as the help shows it ("unset" when there is none)
    meaning: str
    commands: tuple[str, ...] = ()  # the subcommands that read it as their own; () the store's


PG, S = PostgresSettings(), Settings()
DELIVERY_MEANINGS = {
    "BASE_DELAY": "seconds of backoff before a delivery's 2nd attempt, doubled each time",
    "MAX_DELAY": "seconds, the cap of one backoff",
    "MAX_ATTEMPTS": "attempts, then the delivery is a dead letter",
    "CIRCUIT_FAILURES": "failures in a row of a system that open its circuit",
    "CIRCUIT_PAUSE": "seconds an open circuit waits before it probes one delivery",
    "CIRCUIT_MAX_PAUSE": "seconds the pause grows up to during a long outage",
    "IN_FLIGHT": "deliveries sent to one system at once (all workers)",
    "THREADS": "sending threads of a process",
    "TIMEOUT": "seconds for connecting, and for each read or write of an attempt",
    "LEASE": "seconds after which a claimed delivery is another worker's again",
    "INTERVAL": "seconds between a worker's looks for due deliveries",
    "KEEP_DAYS": "days delivered and cancelled deliveries are kept",
}
SERVING = ("serve", "worker")


def _serve(name: str, default: str, meaning: str) -> Variable:
    return Variable(name, default, meaning, ("serve",))


STORE = (
    Variable("PERSISTENCE", S.persistence, "sqlite, postgres or memory (tests only)"),
    Variable("SQLITE_DIR", S.sqlite_dir, "the SQLite files' directory (one per application)"),
    Variable("POSTGRES_HOST", PG.host, "the PostgreSQL server"),
    Variable("POSTGRES_PORT", str(PG.port), "its port"),
    Variable("POSTGRES_DBNAME", PG.dbname, "the database (it must exist)"),
    Variable("POSTGRES_USER", PG.user, "the user"),
    Variable("POSTGRES_PASSWORD", "empty", "the user's password"),
    Variable("POSTGRES_SCHEMA", PG.schema, "the schema of the tables"),
    Variable("POSTGRES_POOL_SIZE", str(PG.pool_size), "connections a process keeps open"),
    Variable("POSTGRES_MAX_OVERFLOW", str(PG.max_overflow), "extra connections under load"),
    Variable("POSTGRES_RESERVE", str(PG.reserve), "connections `serve` leaves to the rest"),
    Variable("STARTUP_WAIT", str(S.startup_wait_s), "seconds a start waits for PostgreSQL"),
    Variable("CIPHER_KEY", "unset", "base64 AES key: encryption at rest (`keygen` makes one)"),
    Variable("OLD_CIPHER_KEYS", "unset", "comma list of earlier keys, still read"),
    Variable(
        "CREATE_TABLES", "yes", "create missing tables at start (`serve` gives no to its workers)"
    ),
    Variable(
        "LOG_LEVEL", "INFO", "DEBUG, INFO, WARNING or ERROR; logs carry ids, no personal data"
    ),
)
SERVER = (
    _serve("HOST", S.host, "`serve`'s address"),
    _serve("PORT", str(S.port), "`serve`'s port"),
    _serve("WORKERS", str(S.workers), "`serve`'s processes"),
    _serve("THREADS", str(S.threads), "threads per API process for store calls"),
    _serve("EMBEDDED_WORKER", "yes", "no: a separate `worker` runs the background work"),
    _serve("MAX_MESSAGE_BYTES", str(S.max_message_bytes), "largest hospital message"),
    _serve(
        "MAX_PLANNING_LAG",
        str(S.max_planning_lag),
        "unplanned events above which intake answers 503 (0: never)",
    ),
    _serve("BUSY_RETRY_AFTER", str(S.busy_retry_after), "seconds in a busy 503's Retry-After"),
    _serve("FHIR_VALIDATION_CACHE", "yes", "no: fhir.resources' own, slower validation"),
    _serve(
        "AUDIT_QUEUE",
        str(S.audit_queue),
        "read-audit rows waiting; when full, personal-data reads are 503",
    ),
    _serve(
        "FAMILY_TOKEN_HOURS",
        str(S.family_token_hours),
        "hours a family's /track sign-in lasts (1-720)",
    ),
    _serve(
        "DOCUMENT_MAX_BYTES", str(S.document_max_bytes), "a family's largest upload (413 above)"
    ),
    _serve("DOCUMENT_MAX_PIXELS", str(S.document_max_pixels), "an uploaded image's width x height"),
    _serve(
        "DOCUMENT_MAX_INFLATED", str(S.document_max_inflated), "an uploaded PDF's streams, inflated"
    ),
    _serve("DOCUMENT_MAX_OBJECTS", str(S.document_max_objects), "an uploaded PDF's objects"),
    _serve(
        "DOCUMENT_CHECK_SECONDS", str(S.document_check_seconds), "seconds one PDF's check may take"
    ),
    _serve("DOCUMENT_CHECKS", str(S.document_checks), "uploads checked at once per process (1-64)"),
    _serve("SESSION_IDLE", str(S.accounts.session_idle_s), "seconds a staff session lasts unused"),
    _serve("SESSION_MAX", str(S.accounts.session_max_s), "seconds a staff session lasts at most"),
    _serve(
        "LOCKOUT_FAILURES",
        str(S.accounts.lockout_failures),
        "failed sign-ins in a row that lock a staff user",
    ),
    _serve("LOCKOUT_MINUTES", str(S.accounts.lockout_minutes), "minutes such a lock lasts"),
    _serve(
        "COOKIE_SECURE", "yes", "the session cookie's Secure flag (no: plain http beyond localhost)"
    ),
    _serve("OIDC_ISSUER", "unset", "staff sign-in through an OpenID Connect provider: its issuer"),
    _serve("OIDC_CLIENT_ID", "unset", "the ledger's client id there"),
    _serve("OIDC_CLIENT_SECRET", "unset", "its client secret (or the next one)"),
    _serve("OIDC_CLIENT_SECRET_FILE", "unset", "a file holding the client secret"),
    _serve("OIDC_REDIRECT_URI", "unset", "the callback, https://.../sign-in/oidc/callback"),
)
DELIVERIES = tuple(
    Variable(
        f"DELIVERY_{name}",
        f"{getattr(S.deliveries, attribute):g}",
        DELIVERY_MEANINGS[name],
        SERVING,
    )
    for name, attribute in DELIVERY_SETTINGS.items()
)
TOOLS = (
    Variable(
        "USER_PASSWORD",
        "a prompt",
        "the password `user add` and `user reset-password` set",
        ("user",),
    ),
    Variable(
        "SIMULATOR_TOKEN",
        "unset",
        "`registry-simulator`'s token (instead of --token)",
        ("registry-simulator",),
    ),
    Variable(
        "SIMULATOR_SECRETS",
        "unset",
        "its signing secrets, space-separated (instead of --secret)",
        ("registry-simulator",),
    ),
)
VARIABLES = (*STORE, *SERVER, *DELIVERIES, *TOOLS)


def line(variable: Variable) -> str:
    return f"  {PREFIX}{variable.name} ({variable.default}): {variable.meaning}"


def full_section() -> str:
    """The top-level help's section: every variable, one line each."""
    return "Environment (default in brackets):\n" + "\n".join(map(line, VARIABLES))


def command_section(command: str) -> str:
    """A subcommand's section: its own variables, then the store's, by name."""
    own = [line(v) for v in VARIABLES if command in v.commands]
    names = [v.name for v in STORE if v.name != "LOG_LEVEL"]
    store = textwrap.fill(
        f"the store's: {PREFIX}{names[0]}, " + ", ".join(f"_{name}" for name in names[1:]),
        width=96,
        initial_indent="  ",
        subsequent_indent="    ",
    )
    return "\n".join(
        [
            "Environment (default in brackets):",
            *own,
            store,
            line(STORE[-1]),
            "  every NEWBORN_LEDGER_* variable, one line each: newborn-ledger --help",
        ]
    )


def add_sections(parser: argparse.ArgumentParser, command: str = "") -> None:
    """The Environment section as the epilog of `parser` and of every subcommand under it;
    raw text, so that each variable stays on its own line."""
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = command_section(command) if command else full_section()
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {choice.dest: choice.help for choice in action._choices_actions}
            for name, child in action.choices.items():
                child.description = child.description or helps.get(name)
                add_sections(child, command or name)
