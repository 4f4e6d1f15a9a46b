"""The OpenID Connect client (Authlib over httpx): discovery, the authorization code flow with
PKCE, state and nonce, and the id_token checked against the provider's keys.

`start()` gives the provider's authorization URL and the attempt the browser keeps;
`finish(attempt, params)` checks the callback, exchanges the code and returns the subject the
provider vouches for. Every way it can fail raises ProviderSignInError with a reason code and
a clear detail, never a token, a code or a secret."""

from __future__ import annotations

import hmac
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx
from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.httpx_client import AsyncOAuth2Client
from authlib.oidc.discovery import OpenIDProviderMetadata
from joserfc.jwk import KeySet

from integrations.identity.attempt import Attempt
from integrations.identity.config import OidcConfig
from integrations.identity.id_token import (
    IdTokenError,
    UnknownKeyError,
    subject_of,
    verified_claims,
)

DISCOVERY = "/.well-known/openid-configuration"
METADATA_TTL_S = 3600.0  # the discovery document and keys are read again after this
ERROR_CODE_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz_")


class ProviderSignInError(Exception):
    """A sign-in through the provider that may not go on. `reason` is a kebab-case code
    (oidc-attempt-missing, oidc-state-mismatch, oidc-provider-error,
    oidc-provider-unavailable, oidc-token-invalid); `detail` says it to a person."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason, self.detail = reason, detail


@dataclass(frozen=True)
class ProviderMetadata:
    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    algorithms: tuple[str, ...]  # id_token_signing_alg_values_supported


def unavailable(what: str) -> ProviderSignInError:
    return ProviderSignInError(
        "oidc-provider-unavailable",
        f"The identity provider could not be reached or gave an unusable answer ({what}); "
        "try again in a few minutes",
    )


class OidcClient:
    """One per process: the provider's metadata and keys are cached between sign-ins."""

    def __init__(self, config: OidcConfig, clock: Callable[[], float] = time.time) -> None:
        self.config, self.clock = config, clock
        self._metadata: tuple[float, ProviderMetadata] | None = None
        self._keys: tuple[float, KeySet] | None = None

    def _oauth(self) -> AsyncOAuth2Client:
        c = self.config
        return AsyncOAuth2Client(
            client_id=c.client_id,
            client_secret=c.client_secret,
            scope=c.scope,
            redirect_uri=c.redirect_uri,
            code_challenge_method="S256",
            token_endpoint_auth_method="client_secret_basic",
            timeout=c.timeout_s,
            follow_redirects=False,
        )

    async def start(self) -> tuple[str, Attempt]:
        """The provider's authorization URL for a new attempt, and the attempt."""
        metadata = await self.metadata()
        attempt = Attempt.new(int(self.clock()))
        async with self._oauth() as oauth:
            url, _ = oauth.create_authorization_url(
                metadata.authorization_endpoint,
                state=attempt.state,
                code_verifier=attempt.verifier,
                nonce=attempt.nonce,
            )
        return str(url), attempt

    async def finish(self, attempt: Attempt, params: Mapping[str, str]) -> str:
        """The subject of the provider's answer to `attempt` (the callback's query)."""
        check_callback(attempt, params, self.config.issuer)
        metadata = await self.metadata()
        id_token = await self._exchange(metadata, params["code"], attempt.verifier)
        claims = await self._verified(metadata, id_token)
        try:
            return subject_of(
                claims,
                issuer=self.config.issuer,
                client_id=self.config.client_id,
                nonce=attempt.nonce,
                now=int(self.clock()),
                leeway=self.config.leeway_s,
            )
        except IdTokenError as exc:
            raise token_invalid(exc.claim) from None

    async def metadata(self) -> ProviderMetadata:
        """The provider's discovery document (cached), checked: its issuer must be ours."""
        now = self.clock()
        if self._metadata is None or self._metadata[0] <= now:
            document = await self._get_json(self.config.issuer.rstrip("/") + DISCOVERY)
            self._metadata = (now + METADATA_TTL_S, parse_metadata(document, self.config.issuer))
        return self._metadata[1]

    async def _exchange(self, metadata: ProviderMetadata, code: str, verifier: str) -> str:
        """The id_token the token endpoint gives for the code (client_secret_basic + PKCE)."""
        try:
            async with self._oauth() as oauth:
                token = await oauth.fetch_token(
                    metadata.token_endpoint, code=code, code_verifier=verifier
                )
        except OAuthError as exc:
            raise provider_error(str(exc.error or "")) from None
        except (httpx.HTTPError, ValueError):
            raise unavailable("token endpoint") from None
        id_token = token.get("id_token")
        if not isinstance(id_token, str):
            raise unavailable("no id_token in the token response")
        return id_token

    async def _verified(self, metadata: ProviderMetadata, id_token: str) -> dict[str, Any]:
        """The id_token's claims once its signature checks out; the keys are read again once
        when it names a key the cached set lacks (the provider rotated its keys)."""
        try:
            return verified_claims(id_token, await self._key_set(metadata), metadata.algorithms)
        except UnknownKeyError:
            self._keys = None
        except IdTokenError as exc:
            raise token_invalid(exc.claim) from None
        try:
            return verified_claims(id_token, await self._key_set(metadata), metadata.algorithms)
        except IdTokenError as exc:
            raise token_invalid(exc.claim) from None

    async def _key_set(self, metadata: ProviderMetadata) -> KeySet:
        now = self.clock()
        if self._keys is None or self._keys[0] <= now:
            document = await self._get_json(metadata.jwks_uri)
            try:
                keys = KeySet.import_key_set(document)  # type: ignore[arg-type]
            except (ValueError, KeyError, TypeError):
                raise unavailable("key set") from None
            self._keys = (now + METADATA_TTL_S, keys)
        return self._keys[1]

    async def _get_json(self, url: str) -> dict[str, Any]:
        try:
            async with httpx.AsyncClient(timeout=self.config.timeout_s) as http:
                response = await http.get(url, headers={"Accept": "application/json"})
            response.raise_for_status()
            document = response.json()
        except (httpx.HTTPError, ValueError):
            raise unavailable(url.rsplit("/", 1)[-1] or "metadata") from None
        if not isinstance(document, dict):
            raise unavailable("not a JSON object")
        return document


def parse_metadata(document: dict[str, Any], issuer: str) -> ProviderMetadata:
    """The discovery document's endpoints (validated by Authlib); its issuer must be exactly
    the configured one (OpenID Connect Discovery 4.3)."""
    try:
        OpenIDProviderMetadata(document).validate()
    except (ValueError, KeyError, TypeError):
        raise unavailable("discovery document") from None
    if document.get("issuer") != issuer:
        raise unavailable("the discovery document names another issuer")
    algorithms = document.get("id_token_signing_alg_values_supported") or ["RS256"]
    return ProviderMetadata(
        issuer=issuer,
        authorization_endpoint=document["authorization_endpoint"],
        token_endpoint=document["token_endpoint"],
        jwks_uri=document["jwks_uri"],
        algorithms=tuple(str(a) for a in algorithms),
    )


def check_callback(attempt: Attempt, params: Mapping[str, str], issuer: str) -> None:
    """The callback answers this browser's attempt, from our provider, with a code."""
    if not hmac.compare_digest(params.get("state", "").encode(), attempt.state.encode()):
        raise ProviderSignInError(
            "oidc-state-mismatch",
            "This answer from the identity provider does not belong to the sign-in started "
            "in this browser; start the sign-in again",
        )
    if "iss" in params and params["iss"] != issuer:  # RFC 9207: a mix-up of providers
        raise provider_error("wrong_issuer")
    if "error" in params:
        raise provider_error(params["error"])
    if not params.get("code"):
        raise provider_error("no_code")


def provider_error(code: str) -> ProviderSignInError:
    """The provider refused; only a plain error code of its answer is repeated."""
    shown = code if code and set(code) <= ERROR_CODE_CHARS and len(code) <= 64 else "unknown"
    return ProviderSignInError(
        "oidc-provider-error", f"The identity provider did not sign you in ({shown})"
    )


def token_invalid(claim: str) -> ProviderSignInError:
    return ProviderSignInError(
        "oidc-token-invalid",
        f"The identity provider's answer failed the {claim} check and was not accepted",
    )
