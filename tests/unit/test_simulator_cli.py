"""`newborn-ledger registry-simulator`: its options, checked before anything starts."""

from __future__ import annotations

import base64
import os

import pytest

from entry.cli import _parser, main
from entry.simulator_cli import simulator_config

SECRET = "whsec_" + base64.b64encode(os.urandom(32)).decode()
BASE = ["registry-simulator", "--port", "8101", "--ledger", "http://127.0.0.1:8000"]


def test_the_options_make_the_simulated_system_s_configuration() -> None:
    args = _parser().parse_args([*BASE, "--token", "t", "--secret", SECRET, "--secret", SECRET])
    config = simulator_config(args)
    assert (config.ledger_url, config.token, config.secrets) == (
        "http://127.0.0.1:8000",
        "t",
        (SECRET, SECRET),
    )
    assert (config.delay_s, config.journal, args.host) == (1.0, ":memory:", "127.0.0.1")


@pytest.mark.parametrize(
    ("argv", "problem"),
    [
        ([*BASE, "--token", "t", "--secret", "nope"], "--secret"),
        ([*BASE, "--token", "t", "--secret", SECRET, "--delay", "-1"], "--delay"),
        (
            [*BASE[:3], "--ledger", "ftp://x", "--token", "t", "--secret", SECRET],
            "--ledger",
        ),
    ],
)
def test_a_bad_option_is_refused_before_it_serves(
    argv: list[str], problem: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    assert problem in capsys.readouterr().err


def test_the_help_names_it_a_simulated_registry_system(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit):
        _parser().parse_args(["--help"])
    assert "simulated registry system" in capsys.readouterr().out


def test_the_token_and_secrets_may_come_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Kept out of the command line, which every user of the machine can read (ps)."""
    other = "whsec_" + base64.b64encode(os.urandom(32)).decode()
    monkeypatch.setenv("NEWBORN_LEDGER_SIMULATOR_TOKEN", "from-env")
    monkeypatch.setenv("NEWBORN_LEDGER_SIMULATOR_SECRETS", f"{SECRET} {other}")
    config = simulator_config(_parser().parse_args(BASE))
    assert (config.token, config.secrets) == ("from-env", (SECRET, other))


def test_without_a_token_or_a_secret_it_says_where_to_give_them(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("NEWBORN_LEDGER_SIMULATOR_TOKEN", raising=False)
    monkeypatch.delenv("NEWBORN_LEDGER_SIMULATOR_SECRETS", raising=False)
    assert main([*BASE, "--token", "t"]) == 2
    assert "NEWBORN_LEDGER_SIMULATOR_SECRETS" in capsys.readouterr().err
