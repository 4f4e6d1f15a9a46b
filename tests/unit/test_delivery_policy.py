"""The delivery policy's arithmetic and checks, and the signature headers (no I/O)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from standardwebhooks import Webhook

from integrations.registry.policy import DeliveryPolicy
from integrations.registry.signing import NoSecretError, signed_headers
from tests.delivery_fakes import new_secret


def test_backoff_is_capped_exponential_with_full_jitter() -> None:
    policy = DeliveryPolicy(base_delay_s=2.0, max_delay_s=60.0)
    assert [policy.backoff(n, lambda: 1.0) for n in (1, 2, 3, 5, 6, 40)] == [
        2.0,
        4.0,
        8.0,
        32.0,
        60.0,
        60.0,
    ]
    assert policy.backoff(4, lambda: 0.5) == 8.0  # anywhere in [0, ceiling]
    assert policy.backoff(4, lambda: 0.0) == 0.0


def test_the_defaults_hold_and_bad_values_are_named() -> None:
    assert DeliveryPolicy().problems() == []
    bad = DeliveryPolicy(in_flight=0, timeout_s=30.0, lease_s=60.0, max_delay_s=1.0)
    assert bad.problems() == [
        "MAX_DELAY must be at least BASE_DELAY",
        "IN_FLIGHT must be 1 or more",
        "LEASE must be more than 3 x TIMEOUT",
    ]


def test_headers_carry_one_signature_per_secret() -> None:
    secrets = (new_secret(), new_secret())
    at = datetime(2026, 11, 20, 8, 30, 15, 900_000, tzinfo=UTC)
    headers = signed_headers("msg_1", b'{"a":1}', secrets, at)
    assert headers["webhook-id"] == "msg_1"
    assert headers["webhook-timestamp"] == str(int(at.timestamp()))
    assert headers["webhook-signature"].split(" ") == [
        Webhook(s).sign("msg_1", at, b'{"a":1}') for s in secrets
    ]
    with pytest.raises(NoSecretError):
        signed_headers("msg_1", b"{}", (), at)
