"""The OpenID Connect client's configuration: NEWBORN_LEDGER_OIDC_* (adapters/settings.py;
docs/operations.md, Signing in with an identity provider)."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from urllib.parse import urlsplit

CALLBACK_PATH = "/sign-in/oidc/callback"


@dataclass(frozen=True)
class OidcConfig:
    issuer: str  # exactly as the provider's discovery document and id_tokens name it
    client_id: str
    client_secret: str = field(repr=False)  # never in a repr, a log line or an error
    redirect_uri: str  # this ledger's CALLBACK_PATH as the browser reaches it
    scope: str = "openid"
    timeout_s: float = 10.0  # each call to the provider (discovery, keys, token)
    attempt_s: int = 600  # a sign-in started longer ago than this is refused at the callback
    leeway_s: int = 60  # clock skew allowed when checking an id_token's times

    @property
    def secure_cookie(self) -> bool:
        """The sign-in attempt's cookie is Secure when the callback is reached over https."""
        return urlsplit(self.redirect_uri).scheme == "https"

    def problems(self) -> list[str]:
        """What is wrong with these values, as `NAME rule` (the settings prefix them)."""
        rules = {
            "ISSUER must be an https URL (http only on a loopback address), "
            "without query or fragment": _usable_url(self.issuer)
            and "?" not in self.issuer
            and "#" not in self.issuer,
            "CLIENT_ID must not be empty": bool(self.client_id),
            "CLIENT_SECRET must not be empty": bool(self.client_secret),
            f"REDIRECT_URI must be an https URL (http only on a loopback address) "
            f"ending in {CALLBACK_PATH}": _usable_url(self.redirect_uri)
            and urlsplit(self.redirect_uri).path.endswith(CALLBACK_PATH),
        }
        return [rule for rule, holds in rules.items() if not holds]


def _usable_url(url: str) -> bool:
    """https, or http to a loopback address (a provider or ledger on this machine)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    if parts.scheme == "https" and parts.hostname:
        return True
    return parts.scheme == "http" and _loopback(parts.hostname or "")


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
