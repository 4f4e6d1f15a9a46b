"""Settings come from the environment once, with clear errors."""

from __future__ import annotations

import pytest
from eventsourcing.postgres import PostgresFactory
from eventsourcing.utils import get_topic

from adapters.pool import SharedPoolPostgresFactory
from adapters.settings import ConfigError, Settings


def test_defaults_are_the_embedded_sqlite_store_under_var() -> None:
    settings = Settings.from_env({})
    assert settings.persistence == "sqlite"
    env = settings.app_env("CaseLedger")
    assert env["PERSISTENCE_MODULE"] == "eventsourcing.sqlite"
    assert env["SQLITE_DBNAME"].endswith("var/caseledger.sqlite")
    assert "CIPHER_TOPIC" not in env


def test_each_application_gets_its_own_sqlite_file() -> None:
    settings = Settings.from_env({"NEWBORN_LEDGER_SQLITE_DIR": "/tmp/x"})
    assert (
        settings.app_env("CaseLedger")["SQLITE_DBNAME"]
        != settings.app_env("ActorDirectory")["SQLITE_DBNAME"]
    )


def test_postgres_env_never_enables_db_functions() -> None:
    settings = Settings.from_env(
        {"NEWBORN_LEDGER_PERSISTENCE": "postgres", "NEWBORN_LEDGER_POSTGRES_DBNAME": "ledger"}
    )
    env = settings.app_env("CaseLedger")
    # the library's PostgreSQL factory, on one pool per process (adapters/pool.py)
    assert env["PERSISTENCE_MODULE"] == get_topic(SharedPoolPostgresFactory)
    assert issubclass(SharedPoolPostgresFactory, PostgresFactory)
    assert env["POSTGRES_DBNAME"] == "ledger"
    assert env["POSTGRES_LOCK_TIMEOUT"] == "5"
    assert not any("ENABLE_DB_FUNCTIONS" in key for key in env)


def test_cipher_key_switches_on_encryption() -> None:
    key = "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVowMTIzNDU="  # 32 bytes
    env = Settings.from_env({"NEWBORN_LEDGER_CIPHER_KEY": key}).app_env("CaseLedger")
    # AES-GCM as before (adapters.keys:RotatingAESCipher writes what AESCipher wrote), and it
    # also reads with the old keys of a rotation
    assert env["CIPHER_TOPIC"] == "adapters.keys:RotatingAESCipher"
    assert env["CIPHER_KEY"] == key


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"NEWBORN_LEDGER_PERSISTENCE": "mongo"}, "PERSISTENCE"),
        ({"NEWBORN_LEDGER_PORT": "eighty"}, "PORT must be a whole number"),
        ({"NEWBORN_LEDGER_CIPHER_KEY": "not base64!"}, "CIPHER_KEY must be base64"),
        ({"NEWBORN_LEDGER_CIPHER_KEY": "QUJD"}, "16, 24 or 32 bytes"),
        ({"NEWBORN_LEDGER_DELIVERY_TIMEOUT": "soon"}, "DELIVERY_TIMEOUT must be a number"),
        ({"NEWBORN_LEDGER_DELIVERY_MAX_ATTEMPTS": "1.5"}, "DELIVERY_MAX_ATTEMPTS must be a whole"),
        ({"NEWBORN_LEDGER_DELIVERY_IN_FLIGHT": "0"}, "DELIVERY_IN_FLIGHT must be 1 or more"),
        ({"NEWBORN_LEDGER_DELIVERY_TIMEOUT": "30"}, "DELIVERY_LEASE must be more than 3 x"),
        ({"NEWBORN_LEDGER_DELIVERY_KEEP_DAYS": "0"}, "DELIVERY_KEEP_DAYS must be 1 or more"),
        ({"NEWBORN_LEDGER_SESSION_IDLE": "0"}, "SESSION_IDLE and NEWBORN_LEDGER_SESSION_MAX"),
        ({"NEWBORN_LEDGER_SESSION_MAX": "60"}, "1 <= idle <= max"),
        ({"NEWBORN_LEDGER_LOCKOUT_FAILURES": "0"}, "LOCKOUT_FAILURES"),
        ({"NEWBORN_LEDGER_LOCKOUT_MINUTES": "soon"}, "LOCKOUT_MINUTES must be a whole"),
        (
            {"NEWBORN_LEDGER_DELIVERY_CIRCUIT_MAX_PAUSE": "10"},
            "DELIVERY_CIRCUIT_MAX_PAUSE must be at least CIRCUIT_PAUSE",
        ),
    ],
)
def test_bad_configuration_names_the_variable(environ: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Settings.from_env(environ)


def test_the_delivery_policy_is_read_from_its_variables() -> None:
    policy = Settings.from_env(
        {"NEWBORN_LEDGER_DELIVERY_IN_FLIGHT": "2", "NEWBORN_LEDGER_DELIVERY_CIRCUIT_PAUSE": "7.5"}
    ).deliveries
    assert (policy.in_flight, policy.circuit_pause_s, policy.max_attempts) == (2, 7.5, 15)
    longer = Settings.from_env(
        {
            "NEWBORN_LEDGER_DELIVERY_CIRCUIT_MAX_PAUSE": "1800",
            "NEWBORN_LEDGER_DELIVERY_KEEP_DAYS": "7",
        }
    ).deliveries
    assert (longer.circuit_max_pause_s, longer.keep_days) == (1800.0, 7)
    assert longer.attempt_s == 2 * longer.timeout_s < longer.lease_s


def test_staff_sign_in_is_read_from_its_variables() -> None:
    defaults = Settings.from_env({}).accounts
    assert (defaults.session_idle_s, defaults.session_max_s) == (1800, 43200)
    assert (defaults.lockout_failures, defaults.lockout_minutes, defaults.cookie_secure) == (
        5,
        15,
        True,
    )
    accounts = Settings.from_env(
        {
            "NEWBORN_LEDGER_SESSION_IDLE": "3",
            "NEWBORN_LEDGER_SESSION_MAX": "600",
            "NEWBORN_LEDGER_LOCKOUT_FAILURES": "3",
            "NEWBORN_LEDGER_LOCKOUT_MINUTES": "60",
            "NEWBORN_LEDGER_COOKIE_SECURE": "no",
        }
    ).accounts
    assert (accounts.session_idle_s, accounts.session_max_s) == (3, 600)
    assert (accounts.lockout_failures, accounts.lockout_minutes) == (3, 60)
    assert accounts.cookie_secure is False
