"""NEWBORN_LEDGER_OIDC_*: the identity provider staff may sign in through (docs/operations.md,
Signing in with an identity provider). All of them or none; the secret directly or from a file,
and never printed."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from integrations.identity.config import OidcConfig

PREFIX = "NEWBORN_LEDGER_OIDC_"
NAMES = ("ISSUER", "CLIENT_ID", "CLIENT_SECRET", "REDIRECT_URI")


def oidc_from_env(environ: Mapping[str, str]) -> OidcConfig | None:
    """The provider's configuration, or None when no NEWBORN_LEDGER_OIDC_* is set; ValueError
    naming what is missing or wrong."""
    values = {name: environ.get(PREFIX + name, "").strip() for name in NAMES}
    secret_file = environ.get(PREFIX + "CLIENT_SECRET_FILE", "").strip()
    if not any(values.values()) and not secret_file:
        return None
    if secret_file:
        values["CLIENT_SECRET"] = _secret_from(secret_file, bool(values["CLIENT_SECRET"]))
    missing = [PREFIX + name for name in NAMES if not values[name]]
    if missing:
        raise ValueError(f"OpenID Connect sign-in needs {', '.join(missing)} as well")
    config = OidcConfig(
        values["ISSUER"], values["CLIENT_ID"], values["CLIENT_SECRET"], values["REDIRECT_URI"]
    )
    if problems := config.problems():
        raise ValueError("; ".join(PREFIX + p for p in problems))
    return config


def _secret_from(path: str, also_given: bool) -> str:
    if also_given:
        raise ValueError(f"Set {PREFIX}CLIENT_SECRET or {PREFIX}CLIENT_SECRET_FILE, not both")
    try:
        return Path(path).read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ValueError(
            f"{PREFIX}CLIENT_SECRET_FILE cannot be read ({type(exc).__name__})"
        ) from None
