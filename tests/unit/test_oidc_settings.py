"""NEWBORN_LEDGER_OIDC_*: all or none, the secret directly or from a file, never printed."""

from __future__ import annotations

from pathlib import Path

import pytest

from adapters.settings import ConfigError, Settings

ENV = {
    "NEWBORN_LEDGER_OIDC_ISSUER": "https://idp.example.gov.cn/realms/staff",
    "NEWBORN_LEDGER_OIDC_CLIENT_ID": "newborn-ledger",
    "NEWBORN_LEDGER_OIDC_CLIENT_SECRET": "a-secret-never-printed",
    "NEWBORN_LEDGER_OIDC_REDIRECT_URI": "https://ledger.example.gov.cn/sign-in/oidc/callback",
}


def test_without_the_variables_there_is_no_provider() -> None:
    assert Settings.from_env({}).oidc is None
    assert Settings.from_env({}).describe()["oidc"] == "off"


def test_the_four_variables_configure_the_provider() -> None:
    settings = Settings.from_env(ENV)
    assert settings.oidc is not None
    assert settings.oidc.client_id == "newborn-ledger"
    assert settings.oidc.secure_cookie
    assert settings.describe()["oidc"] == ENV["NEWBORN_LEDGER_OIDC_ISSUER"]
    assert "a-secret-never-printed" not in repr(settings)
    assert "a-secret-never-printed" not in str(settings.describe())


def test_the_secret_can_come_from_a_file(tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    secret.write_text("from-a-file\n", encoding="utf-8")
    env = {k: v for k, v in ENV.items() if not k.endswith("_SECRET")}
    env["NEWBORN_LEDGER_OIDC_CLIENT_SECRET_FILE"] = str(secret)
    oidc = Settings.from_env(env).oidc
    assert oidc is not None
    assert oidc.client_secret == "from-a-file"
    with pytest.raises(ConfigError, match="not both"):
        Settings.from_env({**env, "NEWBORN_LEDGER_OIDC_CLIENT_SECRET": "x"})
    with pytest.raises(ConfigError, match="cannot be read"):
        Settings.from_env({**env, "NEWBORN_LEDGER_OIDC_CLIENT_SECRET_FILE": str(tmp_path / "no")})


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"NEWBORN_LEDGER_OIDC_CLIENT_ID": ""}, "needs NEWBORN_LEDGER_OIDC_CLIENT_ID"),
        ({"NEWBORN_LEDGER_OIDC_ISSUER": "http://idp.example"}, "ISSUER must be an https URL"),
        (
            {"NEWBORN_LEDGER_OIDC_REDIRECT_URI": "https://ledger.example/elsewhere"},
            "REDIRECT_URI must be",
        ),
    ],
)
def test_a_partial_or_unsafe_configuration_is_refused_by_name(
    changes: dict[str, str], message: str
) -> None:
    with pytest.raises(ConfigError, match=message) as refused:
        Settings.from_env({**ENV, **changes})
    assert "a-secret-never-printed" not in str(refused.value)
