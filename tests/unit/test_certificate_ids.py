"""Certificate ids: unguessable without the store's cipher key yet stable, opened back to
their request by the ledger (older keys too); a revision of ASCII digits only; the birth date
a certificate states is China's."""

from __future__ import annotations

import base64
import uuid
from uuid import UUID

import pytest

from adapters.certificates import CertificateIds
from domain.births.wing import child
from domain.kernel.certificates import parse_certificate_id

KEY = base64.b64encode(b"k" * 32).decode()
OTHER_KEY = base64.b64encode(b"o" * 32).decode()
# a request id as the ledger makes it: uuid5 of public inputs (USCC, record number, service)
REQUEST = uuid.uuid5(uuid.NAMESPACE_URL, "12430600MA4L0BHT5Q/MR-1/birth-certificate")


def test_an_id_is_keyed_stable_and_opens_to_its_request() -> None:
    ids = CertificateIds.of(KEY)
    sealed = ids.seal(REQUEST)
    assert sealed == CertificateIds.of(KEY).seal(REQUEST)  # stable: the same certificate id
    assert len(sealed) == 32
    assert REQUEST.hex not in sealed
    assert sealed != CertificateIds.of(None).seal(REQUEST)  # not the keyless, public one
    assert sealed != CertificateIds.of(OTHER_KEY).seal(REQUEST)
    assert parse_certificate_id(f"{sealed}.1") == (sealed, 1)
    [(opened, seal)] = ids.opened(sealed)
    assert (opened, seal(REQUEST)) == (REQUEST, sealed)


def test_ids_made_before_a_key_rotation_still_open() -> None:
    before = CertificateIds.of(OTHER_KEY).seal(REQUEST)
    rotated = CertificateIds.of(KEY, (OTHER_KEY,))
    assert rotated.seal(REQUEST) == CertificateIds.of(KEY).seal(REQUEST)  # the new key seals
    found = [(opened, seal(opened)) for opened, seal in rotated.opened(before)]
    assert (REQUEST, before) in found


def test_without_a_cipher_key_ids_are_deterministic() -> None:
    assert CertificateIds.of(None).seal(REQUEST) == CertificateIds.of("").seal(REQUEST)


@pytest.mark.parametrize("digit", ["\u00b2", "\u0661", "\uff11", "\u2460"])
def test_a_revision_is_ascii_digits(digit: str) -> None:
    assert digit.isdigit() or digit.isnumeric()
    for head in (str(REQUEST), REQUEST.hex):
        assert parse_certificate_id(f"{head}.{digit}") is None
        assert parse_certificate_id(f"{head}.1{digit}") is None


@pytest.mark.parametrize(
    ("born_at", "date"),
    [
        ("2026-11-19T20:30:00+00:00", "2026-11-20"),  # 04:30 on the 20th in China
        ("2026-11-19T23:59:59Z", "2026-11-20"),
        ("2026-11-19T15:59:59+00:00", "2026-11-19"),
        ("2026-11-20T08:30:00+08:00", "2026-11-20"),
        ("2026-11-20T01:00:00+09:00", "2026-11-20"),  # 00:00 in China
        ("2026-11-20T00:30:00+09:00", "2026-11-19"),  # 23:30 the day before in China
    ],
)
def test_the_birth_date_is_the_date_in_china(born_at: str, date: str) -> None:
    assert child({"born_at": born_at})["birth_date"] == date


def test_a_request_id_is_no_certificate_id() -> None:
    assert parse_certificate_id(f"{REQUEST}.1") is None
    assert isinstance(REQUEST, UUID)
