"""Standard Webhooks signatures (https://www.standardwebhooks.com): one `v1,` signature per
valid secret, so a receiver rotating its secret verifies with either during the overlap."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from math import floor

from standardwebhooks import Webhook

CONTENT_TYPE = "application/cloudevents+json; charset=utf-8"  # CloudEvents structured mode
USER_AGENT = "newborn-ledger-deliveries/1"


class NoSecretError(ValueError):
    """A system without a valid secret: nothing could verify what it is sent."""


def signed_headers(
    message_id: str, body: bytes, secrets: Sequence[str], at: datetime
) -> dict[str, str]:
    """The headers of one delivery attempt: webhook-id (the message id, stable across
    retries so the receiver can deduplicate), webhook-timestamp, webhook-signature."""
    if not secrets:
        raise NoSecretError("no valid secret to sign with")
    signatures = " ".join(Webhook(secret).sign(message_id, at, body) for secret in secrets)
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(floor(at.timestamp())),
        "webhook-signature": signatures,
        "content-type": CONTENT_TYPE,
        "user-agent": USER_AGENT,
    }
