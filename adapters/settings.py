"""Settings: read once from the environment by the entry point, typed, with clear errors."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from eventsourcing.utils import get_topic

from adapters.keys import OLD_CIPHER_KEYS, RotatingAESCipher, split_keys
from adapters.oidc_settings import oidc_from_env
from engine.encoding import FastJSONTranscoder, FastZlibCompressor
from engine.one_trip_reads import one_trip_repository
from engine.recorders import POPO_FACTORY_TOPIC, PROCESS_RECORDER_TOPICS
from engine.section import REPOSITORY_TOPIC, section_repository
from integrations.documents.limits import ContentLimits
from integrations.identity.config import OidcConfig
from integrations.registry.policy import DeliveryPolicy

PREFIX = "NEWBORN_LEDGER_"
PERSISTENCE = ("sqlite", "postgres", "memory")
ONE_TRIP_REPOSITORY_TOPIC = get_topic(one_trip_repository)
SECTION_REPOSITORY_TOPIC = get_topic(section_repository)
CIPHER_TOPIC = get_topic(RotatingAESCipher)
# adapters.pool imports this module: its factory is named here by topic (test_settings pins it)
SHARED_POOL_FACTORY_TOPIC = "adapters.pool:SharedPoolPostgresFactory"


class ConfigError(Exception):
    """Bad configuration: the message names the variable and what is wrong."""


@dataclass(frozen=True)
class PostgresSettings:
    host: str = "127.0.0.1"
    port: int = 5432
    dbname: str = "newborn_ledger"
    user: str = "postgres"
    password: str = ""
    schema: str = "public"
    pool_size: int = 5
    max_overflow: int = 10
    lock_timeout_s: int = 5
    reserve: int = 10  # connections left for everything else (adapters/budget.py)


@dataclass(frozen=True)
class AccountSettings:
    """Staff sign-in: sessions' timeouts, lockout, the cookie (docs/operations.md)."""

    session_idle_s: int = 1_800  # a session unused this long ends
    session_max_s: int = 43_200  # and every session ends this long after sign-in
    lockout_failures: int = 5  # failed sign-ins in a row that lock a user
    lockout_minutes: int = 15
    cookie_secure: bool = True  # the cookie's Secure flag (no: plain http other than localhost)


@dataclass(frozen=True)
class Settings:
    """Everything the composition root needs; nothing else reads os.environ."""

    persistence: str = "sqlite"
    sqlite_dir: str = "./var"
    postgres: PostgresSettings = field(default_factory=PostgresSettings)
    cipher_key: str | None = None
    old_cipher_keys: tuple[str, ...] = ()  # still read (a rotation), never written with
    compress: bool = True
    max_message_bytes: int = 2_000_000
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    embedded_worker: bool = True
    create_tables: bool = True  # `serve` creates them once; its workers must not race on DDL
    threads: int = 4  # API worker threads for blocking store calls (anyio's default is 40)
    max_planning_lag: int = 10_000  # ledger events not yet planned; above it intake is 503 (0: off)
    busy_retry_after: int = 10  # seconds, the Retry-After of that 503
    family_token_hours: int = 8  # a family's sign-in at POST /track is refused after this
    startup_wait_s: int = 60  # PostgreSQL: how long a start waits for the server (0: no wait)
    fhir_validation_cache: bool = True  # the same FHIR validation, per-class work done once
    deliveries: DeliveryPolicy = field(default_factory=DeliveryPolicy)  # registry systems
    audit_queue: int = 10_000  # read-audit rows waiting for their commit; above it reads are 503
    # families' uploads (flat, so that Settings stays plain values): see `documents`
    document_max_bytes: int = ContentLimits.max_bytes
    document_max_pixels: int = ContentLimits.max_pixels
    document_max_inflated: int = ContentLimits.max_inflated
    document_max_objects: int = ContentLimits.max_objects
    document_check_seconds: int = int(ContentLimits.max_seconds)
    document_checks: int = 2  # uploads checked at once, on threads of their own (as many wait)
    accounts: AccountSettings = field(default_factory=AccountSettings)  # staff sign-in
    oidc: OidcConfig | None = None  # staff sign-in through an identity provider (if set)

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Settings:
        def get(name: str, default: str) -> str:
            return environ.get(PREFIX + name, default).strip()

        pg = PostgresSettings(
            host=get("POSTGRES_HOST", "127.0.0.1"),
            port=_int(get("POSTGRES_PORT", "5432"), "POSTGRES_PORT"),
            dbname=get("POSTGRES_DBNAME", "newborn_ledger"),
            user=get("POSTGRES_USER", "postgres"),
            password=environ.get(PREFIX + "POSTGRES_PASSWORD", ""),
            schema=get("POSTGRES_SCHEMA", "public"),
            pool_size=_int(get("POSTGRES_POOL_SIZE", "5"), "POSTGRES_POOL_SIZE"),
            max_overflow=_int(get("POSTGRES_MAX_OVERFLOW", "10"), "POSTGRES_MAX_OVERFLOW"),
            reserve=_int(get("POSTGRES_RESERVE", "10"), "POSTGRES_RESERVE"),
        )
        docs = ContentLimits()
        settings = cls(
            persistence=get("PERSISTENCE", "sqlite"),
            sqlite_dir=get("SQLITE_DIR", "./var"),
            postgres=pg,
            cipher_key=environ.get(PREFIX + "CIPHER_KEY") or None,
            old_cipher_keys=tuple(split_keys(environ.get(PREFIX + "OLD_CIPHER_KEYS"))),
            max_message_bytes=_int(get("MAX_MESSAGE_BYTES", "2000000"), "MAX_MESSAGE_BYTES"),
            host=get("HOST", "127.0.0.1"),
            port=_int(get("PORT", "8000"), "PORT"),
            workers=_int(get("WORKERS", "1"), "WORKERS"),
            embedded_worker=get("EMBEDDED_WORKER", "yes").lower() in ("1", "yes", "true", "y"),
            create_tables=get("CREATE_TABLES", "yes").lower() in ("1", "yes", "true", "y"),
            threads=_int(get("THREADS", "4"), "THREADS"),
            max_planning_lag=_int(get("MAX_PLANNING_LAG", "10000"), "MAX_PLANNING_LAG"),
            busy_retry_after=_int(get("BUSY_RETRY_AFTER", "10"), "BUSY_RETRY_AFTER"),
            family_token_hours=_int(get("FAMILY_TOKEN_HOURS", "8"), "FAMILY_TOKEN_HOURS"),
            startup_wait_s=_int(get("STARTUP_WAIT", "60"), "STARTUP_WAIT"),
            fhir_validation_cache=get("FHIR_VALIDATION_CACHE", "yes").lower()
            in ("1", "yes", "true", "y"),
            deliveries=_delivery_policy(environ),
            audit_queue=_int(get("AUDIT_QUEUE", "10000"), "AUDIT_QUEUE"),
            document_max_bytes=_int(
                get("DOCUMENT_MAX_BYTES", str(docs.max_bytes)), "DOCUMENT_MAX_BYTES"
            ),
            document_max_pixels=_int(
                get("DOCUMENT_MAX_PIXELS", str(docs.max_pixels)), "DOCUMENT_MAX_PIXELS"
            ),
            document_max_inflated=_int(
                get("DOCUMENT_MAX_INFLATED", str(docs.max_inflated)), "DOCUMENT_MAX_INFLATED"
            ),
            document_max_objects=_int(
                get("DOCUMENT_MAX_OBJECTS", str(docs.max_objects)), "DOCUMENT_MAX_OBJECTS"
            ),
            document_check_seconds=_int(
                get("DOCUMENT_CHECK_SECONDS", str(int(docs.max_seconds))), "DOCUMENT_CHECK_SECONDS"
            ),
            document_checks=_int(get("DOCUMENT_CHECKS", "2"), "DOCUMENT_CHECKS"),
            accounts=AccountSettings(
                session_idle_s=_int(get("SESSION_IDLE", "1800"), "SESSION_IDLE"),
                session_max_s=_int(get("SESSION_MAX", "43200"), "SESSION_MAX"),
                lockout_failures=_int(get("LOCKOUT_FAILURES", "5"), "LOCKOUT_FAILURES"),
                lockout_minutes=_int(get("LOCKOUT_MINUTES", "15"), "LOCKOUT_MINUTES"),
                cookie_secure=get("COOKIE_SECURE", "yes").lower() not in ("0", "no", "false", "n"),
            ),
            oidc=_oidc(environ),
        )
        settings.validate()
        return settings

    def validate(self) -> None:
        if self.persistence not in PERSISTENCE:
            raise ConfigError(
                f"{PREFIX}PERSISTENCE is {self.persistence!r}; use one of {', '.join(PERSISTENCE)}"
            )
        if self.cipher_key is not None:
            _check_key(self.cipher_key, "CIPHER_KEY")
        for old in self.old_cipher_keys:
            _check_key(old, "OLD_CIPHER_KEYS")
        if self.old_cipher_keys and not self.cipher_key:
            raise ConfigError(f"{PREFIX}OLD_CIPHER_KEYS needs {PREFIX}CIPHER_KEY (the new key)")
        if self.max_message_bytes < 1024:
            raise ConfigError(f"{PREFIX}MAX_MESSAGE_BYTES must be at least 1024")
        if self.max_planning_lag < 0 or self.busy_retry_after < 1:
            raise ConfigError(f"{PREFIX}MAX_PLANNING_LAG ≥ 0 and {PREFIX}BUSY_RETRY_AFTER ≥ 1")
        if self.postgres.pool_size < 1 or self.postgres.max_overflow < 0:
            raise ConfigError(
                f"{PREFIX}POSTGRES_POOL_SIZE ≥ 1 and {PREFIX}POSTGRES_MAX_OVERFLOW ≥ 0"
            )
        if self.startup_wait_s < 0:
            raise ConfigError(f"{PREFIX}STARTUP_WAIT must be 0 or more seconds")
        if not 1 <= self.family_token_hours <= 24 * 30:
            raise ConfigError(f"{PREFIX}FAMILY_TOKEN_HOURS must be between 1 and 720")
        if self.audit_queue < 1:
            raise ConfigError(f"{PREFIX}AUDIT_QUEUE must be at least 1")
        accounts = self.accounts
        if not 1 <= accounts.session_idle_s <= accounts.session_max_s <= 7 * 86_400:
            raise ConfigError(
                f"{PREFIX}SESSION_IDLE and {PREFIX}SESSION_MAX are seconds: "
                "1 <= idle <= max <= 604800 (7 days)"
            )
        if accounts.lockout_failures < 1 or accounts.lockout_minutes < 1:
            raise ConfigError(f"{PREFIX}LOCKOUT_FAILURES and {PREFIX}LOCKOUT_MINUTES ≥ 1")
        if problems := self.deliveries.problems():
            raise ConfigError("; ".join(f"{PREFIX}DELIVERY_{p}" for p in problems))
        if not 1 <= self.document_checks <= 64:
            raise ConfigError(f"{PREFIX}DOCUMENT_CHECKS must be between 1 and 64")
        if problems := self.documents.problems():
            raise ConfigError("; ".join(f"{PREFIX}DOCUMENT_{p}" for p in problems))

    @property
    def documents(self) -> ContentLimits:
        """The limits a family's upload is checked against (docs/operations.md, Documents)."""
        return ContentLimits(
            self.document_max_bytes,
            self.document_max_pixels,
            self.document_max_inflated,
            self.document_max_objects,
            float(self.document_check_seconds),
        )

    def with_changes(self, **changes: object) -> Settings:
        return replace(self, **changes)  # type: ignore[arg-type]

    def app_env(self, app_name: str) -> dict[str, str]:
        """The eventsourcing environment for one application (keys as the library reads them)."""
        env: dict[str, str] = {"TRANSCODER_TOPIC": get_topic(FastJSONTranscoder)}
        if self.compress:
            env["COMPRESSOR_TOPIC"] = get_topic(FastZlibCompressor)
        if not self.create_tables:
            env["CREATE_TABLE"] = "no"  # the library's flag; its DDL includes CREATE OR REPLACE
        # Policies read plain repositories; the engine's read through a processing section.
        env[REPOSITORY_TOPIC] = SECTION_REPOSITORY_TOPIC
        if self.cipher_key:
            env |= {"CIPHER_TOPIC": CIPHER_TOPIC, "CIPHER_KEY": self.cipher_key}
            env[OLD_CIPHER_KEYS] = ",".join(self.old_cipher_keys)
        if self.persistence == "sqlite":
            path = Path(self.sqlite_dir) / f"{app_name.lower()}.sqlite"
            env |= {"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": str(path)}
        elif self.persistence == "postgres":
            env |= self._postgres_env() | {REPOSITORY_TOPIC: ONE_TRIP_REPOSITORY_TOPIC}
        else:
            return env | {"PERSISTENCE_MODULE": POPO_FACTORY_TOPIC}
        # Section-at-a-time processing (engine/processing.py) needs these process recorders.
        return env | {"PROCESS_RECORDER_TOPIC": PROCESS_RECORDER_TOPICS[self.persistence]}

    def _postgres_env(self) -> dict[str, str]:
        pg = self.postgres
        return {
            "PERSISTENCE_MODULE": SHARED_POOL_FACTORY_TOPIC,  # one pool a process
            "POSTGRES_HOST": pg.host,
            "POSTGRES_PORT": str(pg.port),
            "POSTGRES_DBNAME": pg.dbname,
            "POSTGRES_USER": pg.user,
            "POSTGRES_PASSWORD": pg.password,
            "POSTGRES_SCHEMA": pg.schema,
            "POSTGRES_POOL_SIZE": str(pg.pool_size),
            "POSTGRES_MAX_OVERFLOW": str(pg.max_overflow),
            "POSTGRES_LOCK_TIMEOUT": str(pg.lock_timeout_s),
            "POSTGRES_CONNECT_TIMEOUT": "5",
        }

    def describe(self) -> dict[str, object]:
        """A printable summary with no secrets."""
        where = (
            self.sqlite_dir
            if self.persistence == "sqlite"
            else (
                f"{self.postgres.user}@{self.postgres.host}:{self.postgres.port}/"
                f"{self.postgres.dbname} (schema {self.postgres.schema})"
            )
        )
        return {
            "persistence": self.persistence,
            "store": where,
            "encryption": "on" if self.cipher_key else "off",
            "oidc": self.oidc.issuer if self.oidc else "off",
        }


# NEWBORN_LEDGER_DELIVERY_<NAME> → the DeliveryPolicy field it sets (docs/operations.md)
DELIVERY_SETTINGS = {
    "BASE_DELAY": "base_delay_s",
    "MAX_DELAY": "max_delay_s",
    "MAX_ATTEMPTS": "max_attempts",
    "CIRCUIT_FAILURES": "circuit_failures",
    "CIRCUIT_PAUSE": "circuit_pause_s",
    "CIRCUIT_MAX_PAUSE": "circuit_max_pause_s",
    "IN_FLIGHT": "in_flight",
    "THREADS": "threads",
    "TIMEOUT": "timeout_s",
    "LEASE": "lease_s",
    "INTERVAL": "interval_s",
    "KEEP_DAYS": "keep_days",
}


def _delivery_policy(environ: Mapping[str, str]) -> DeliveryPolicy:
    """The delivery policy: the defaults, and each NEWBORN_LEDGER_DELIVERY_* that is set."""
    defaults, values = DeliveryPolicy(), dict[str, object]()
    for name, attribute in DELIVERY_SETTINGS.items():
        raw = environ.get(f"{PREFIX}DELIVERY_{name}", "").strip()
        if raw:
            kind = type(getattr(defaults, attribute))
            values[attribute] = _int(raw, f"DELIVERY_{name}") if kind is int else _float(raw, name)
    return replace(defaults, **values)  # type: ignore[arg-type]


def _oidc(environ: Mapping[str, str]) -> OidcConfig | None:
    try:
        return oidc_from_env(environ)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None


def _float(value: str, name: str) -> float:
    try:
        number = float(value)
    except ValueError:
        number = float("nan")
    if number != number or number in (float("inf"), float("-inf")):
        raise ConfigError(f"{PREFIX}DELIVERY_{name} must be a number of seconds, not {value!r}")
    return number


def _int(value: str, name: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise ConfigError(f"{PREFIX}{name} must be a whole number, not {value!r}") from None


def _check_key(key: str, name: str) -> None:
    try:
        size = len(base64.b64decode(key, validate=True))
    except (binascii.Error, ValueError):
        raise ConfigError(
            f"{PREFIX}{name} must be base64 (make one: newborn-ledger keygen)"
        ) from None
    if size not in (16, 24, 32):
        raise ConfigError(f"{PREFIX}{name} must decode to 16, 24 or 32 bytes, not {size}")
