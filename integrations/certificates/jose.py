"""Ed25519 keys and compact JWS (RFC 7515) through joserfc: alg `Ed25519`, the fully specified
name RFC 9864 gives EdDSA over Ed25519 (joserfc warns on the deprecated `EdDSA`)."""

from __future__ import annotations

from typing import Any

import orjson
from joserfc import jws
from joserfc.errors import BadSignatureError, DecodeError, JoseError
from joserfc.jwk import OKPKey

ALG = "Ed25519"
PrivateKey = OKPKey  # what `load_private` gives and `sign` takes


class NotACertificateError(ValueError):
    """The text is not a compact JWS with a JSON object as its payload."""


def generate() -> tuple[str, dict[str, Any], bytes]:
    """A new key: its kid (the RFC 7638 thumbprint), public JWK, and private JWK as JSON."""
    key = OKPKey.generate_key("Ed25519", private=True)
    return (
        key.thumbprint(),
        dict(key.as_dict(private=False)),
        orjson.dumps(key.as_dict(private=True)),
    )


def load_private(raw: bytes) -> PrivateKey:
    return OKPKey.import_key(orjson.loads(raw))


def sign(header: dict[str, Any], payload: bytes, key: PrivateKey) -> str:
    """The compact JWS: deterministic for the same header, payload and key (Ed25519)."""
    return jws.serialize_compact({**header, "alg": ALG}, payload, key, algorithms=[ALG])


def check(token: str, public_jwk: dict[str, Any]) -> str | None:
    """None when `token` is signed by the key; else "bad-signature" or "malformed"."""
    try:
        jws.deserialize_compact(token, OKPKey.import_key(public_jwk), algorithms=[ALG])
    except BadSignatureError:
        return "bad-signature"
    except JoseError:
        return "malformed"
    return None


def parts(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The header and claims of a compact JWS, unverified; NotACertificateError otherwise."""
    try:
        compact = jws.extract_compact(token.encode())
        claims = orjson.loads(compact.payload)
    except (DecodeError, JoseError, ValueError, orjson.JSONDecodeError):
        raise NotACertificateError("Not a compact JWS with a JSON payload") from None
    if not isinstance(claims, dict):
        raise NotACertificateError("The payload is not a JSON object")
    return dict(compact.headers()), claims
