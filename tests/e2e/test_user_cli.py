"""`newborn-ledger user ...` on SQLite and PostgreSQL: add (password from the environment,
the TOTP secret and URI printed once), list without secrets, sign in with what was printed,
reset-totp, reset-password and disable (sessions end), sign-ins, and clear refusals."""

from __future__ import annotations

from typing import Any

import pyotp
import pytest

from adapters.bootstrap import Container
from adapters.settings import Settings
from adapters.sign_in import find_session, password_sign_in
from domain.kernel.staff import SignInRefusedError
from entry.cli import main
from tests.pg import ledger_env

PASSWORD = "correct horse battery staple"


@pytest.fixture
def cli(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Any:
    env = (
        ledger_env(settings)
        if settings.persistence == "postgres"
        else {
            "NEWBORN_LEDGER_PERSISTENCE": "sqlite",
            "NEWBORN_LEDGER_SQLITE_DIR": settings.sqlite_dir,
        }
    )
    for name, value in {**env, "NEWBORN_LEDGER_USER_PASSWORD": PASSWORD}.items():
        monkeypatch.setenv(name, value)

    def run(*argv: str) -> tuple[int, list[str], str]:
        code = main(list(argv))
        out = capsys.readouterr()
        return code, out.out.splitlines(), out.err

    return run


def test_a_user_is_added_signs_in_and_is_managed(cli: Any, container: Container) -> None:
    code, out, _ = cli(
        "user", "add", "clerk.wang", "--role", "office", "--scope", "430602",
        "--authority", "cdc", "--label", "岳阳楼区接种门诊",
    )  # fmt: skip
    assert code == 0
    uri, secret = out[-2], out[-1]
    assert uri.startswith("otpauth://totp/newborn-ledger:clerk.wang?secret=" + secret)
    assert PASSWORD not in "\n".join(out)
    code, out, _ = cli("user", "list")
    assert '"username":"clerk.wang"' in out[0]
    assert secret not in out[0]
    assert '"disabled":false' in out[0]

    _, cookie, _ = password_sign_in(container, "clerk.wang", PASSWORD, pyotp.TOTP(secret).now())
    code, out, _ = cli("user", "reset-totp", "clerk.wang")
    new_secret = out[-1]
    assert new_secret != secret
    code, out, _ = cli("user", "reset-password", "clerk.wang")
    assert out == ["new password for clerk.wang; 1 session ended"]
    assert find_session(container, cookie) is None
    code, out, _ = cli("user", "disable", "clerk.wang")
    assert out == ["disabled clerk.wang; 0 sessions ended"]
    with pytest.raises(SignInRefusedError, match="disabled"):
        password_sign_in(container, "clerk.wang", PASSWORD, pyotp.TOTP(new_secret).now())
    code, out, _ = cli("user", "sign-ins", "--user", "clerk.wang")
    assert ['"outcome":"refused"' in out[0], '"outcome":"signed-in"' in out[1]] == [True, True]


def test_the_sign_in_log_is_purged_before_a_date(cli: Any, container: Container) -> None:
    """The sign-in log's retention: rows before the date (00:00 China time) go, later stay."""
    cli("user", "add", "clerk.zhao", "--role", "admin")
    with pytest.raises(SignInRefusedError):
        password_sign_in(container, "clerk.zhao", "wrong password", "000000")
    code, out, _ = cli("user", "purge-sign-ins", "--before", "2000-01-01")
    assert (code, out) == (0, ["removed 0 sign-in log rows before 2000-01-01"])
    code, out, _ = cli("user", "purge-sign-ins", "--before", "2999-01-01")
    assert (code, out) == (0, ["removed 1 sign-in log rows before 2999-01-01"])
    code, out, _ = cli("user", "sign-ins")
    assert (code, out) == (0, [])
    code, _, err = cli("user", "purge-sign-ins", "--before", "soon")
    assert (code, err.strip()) == (2, "newborn-ledger: --before is a date, YYYY-MM-DD, not 'soon'")


def test_refusals_are_clear(cli: Any) -> None:
    code, _, err = cli("user", "add", "Bad Name", "--role", "admin")
    assert (code, err.strip()) == (
        2,
        "newborn-ledger: A username is 2-64 characters: a-z, 0-9, '.', '_' or '-'",
    )
    code, _, err = cli("user", "add", "clerk.li", "--role", "office", "--scope", "430602")
    assert code == 2
    assert "--authority" in err
    code, _, err = cli("user", "disable", "nobody")
    assert (code, err.strip()) == (2, "newborn-ledger: No such staff user")
