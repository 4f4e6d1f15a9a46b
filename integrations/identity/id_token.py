"""An id_token's checks (OpenID Connect Core 1.0, 3.1.3.7): the signature against the
provider's published keys, then iss, aud (and azp), exp, iat, nonce and sub.

Pure functions over the token and the keys: the client (oidc.py) fetches the keys."""

from __future__ import annotations

import hmac
from collections.abc import Collection
from typing import Any

from joserfc import jwt
from joserfc.errors import ClaimError, ExpiredTokenError, InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet

# Asymmetric algorithms only: a client secret is never a key for an id_token here, and
# "none" is never accepted (the list is also cut to those the provider says it uses).
ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512")
MAX_SUBJECT = 255  # OpenID Connect Core 2: a subject is at most 255 ASCII characters


class IdTokenError(Exception):
    """The id_token may not sign anyone in; `claim` names the failed check (`signature`,
    `iss`, `aud`, `azp`, `exp`, `iat`, `nonce`, `sub`): never a claim's value."""

    def __init__(self, claim: str) -> None:
        super().__init__(f"the id_token failed its {claim} check")
        self.claim = claim


class UnknownKeyError(IdTokenError):
    """Signed with a key id the provider's key set lacks (a rotation: fetch the keys again)."""

    def __init__(self) -> None:
        super().__init__("signature")


def verified_claims(id_token: str, keys: KeySet, algorithms: Collection[str]) -> dict[str, Any]:
    """The claims of an id_token whose signature one of `keys` verifies."""
    allowed = [a for a in algorithms if a in ALGORITHMS]
    try:
        token = jwt.decode(id_token, keys, algorithms=allowed)
    except InvalidKeyIdError:
        raise UnknownKeyError() from None
    except (JoseError, ValueError, TypeError):
        raise IdTokenError("signature") from None
    return dict(token.claims)


def subject_of(
    claims: dict[str, Any], *, issuer: str, client_id: str, nonce: str, now: int, leeway: int
) -> str:
    """The subject of verified claims issued by `issuer` for `client_id` and this sign-in
    attempt's `nonce`, still valid at `now` (± `leeway` seconds); else IdTokenError."""
    registry = jwt.JWTClaimsRegistry(
        now=now,
        leeway=leeway,
        iss={"essential": True, "value": issuer},
        aud={"essential": True, "value": client_id},
        sub={"essential": True},
        exp={"essential": True},
        iat={"essential": True},
    )
    try:
        registry.validate(claims)
    except ExpiredTokenError:
        raise IdTokenError("exp") from None
    except ClaimError as exc:
        raise IdTokenError(exc.claim.split(",")[0]) from None
    _check_azp(claims, client_id)
    _check_nonce(claims, nonce)
    return _subject(claims)


def _check_azp(claims: dict[str, Any], client_id: str) -> None:
    """With several audiences the token must name this client as its authorised party."""
    audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
    if (len(audiences) > 1 or "azp" in claims) and claims.get("azp") != client_id:
        raise IdTokenError("azp")


def _check_nonce(claims: dict[str, Any], nonce: str) -> None:
    found = claims.get("nonce")
    if not isinstance(found, str) or not hmac.compare_digest(found.encode(), nonce.encode()):
        raise IdTokenError("nonce")


def _subject(claims: dict[str, Any]) -> str:
    subject = claims["sub"]
    if not isinstance(subject, str) or not subject.isascii() or len(subject) > MAX_SUBJECT:
        raise IdTokenError("sub")
    return subject
