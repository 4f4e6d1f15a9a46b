"""What a simulated registry system answers: valid by the ledger's rules, and stable."""

from __future__ import annotations

import re
from datetime import date
from uuid import UUID, uuid4

import orjson
import pytest
from stdnum.cn import ric

from domain.births.catalog import load_catalog
from domain.kernel.identifiers import citizen_id, citizen_id_sex
from domain.kernel.results import validate_result
from integrations.registry.simulated_results import (
    PayloadNeededError,
    receipt_number,
    simulated_result,
)
from integrations.registry.simulator_envelope import actions_for, parse_envelope

REQUEST = UUID("6f1c3c1e-9a43-5d8e-8f43-2c1a7f1f0a11")
PAYLOAD = {"born_at": "2026-11-20T08:30:00+08:00", "sex": "female", "child_name": "王小明"}


@pytest.mark.parametrize("service", load_catalog().codes)
def test_every_service_gets_a_result_the_ledger_accepts(service: str) -> None:
    definition = load_catalog()[service]
    result = simulated_result(service, "420102", REQUEST, PAYLOAD)
    assert set(result) == {definition.result_field}
    checked = validate_result(definition, result, "420102", PAYLOAD["born_at"])
    assert checked.to_dict() == result


def test_a_citizen_id_has_the_county_the_birth_date_the_sex_and_its_check() -> None:
    number = simulated_result("household-registration", "420102", REQUEST, PAYLOAD)["citizen_id"]
    assert len(number) == 18
    assert number[:6] == "420102"
    assert number[6:14] == "20261120"
    assert ric.is_valid(number)
    assert citizen_id_sex(number) == "female"
    assert citizen_id(number, born_on=date(2026, 11, 20)) == number
    boy = simulated_result("household-registration", "430602", REQUEST, {**PAYLOAD, "sex": "male"})
    assert citizen_id_sex(boy["citizen_id"]) == "male"
    assert boy["citizen_id"][:6] == "430602"


def test_the_birth_date_is_the_local_date_of_born_at() -> None:
    late = {**PAYLOAD, "born_at": "2026-11-20T23:50:00+08:00"}  # 15:50 UTC, same local day
    assert simulated_result("household-registration", "420102", REQUEST, late)["citizen_id"][
        6:14
    ] == ("20261120")


def test_results_are_stable_per_request_and_differ_between_requests() -> None:
    first = simulated_result("household-registration", "420102", REQUEST, PAYLOAD)
    assert simulated_result("household-registration", "420102", REQUEST, PAYLOAD) == first
    others = {
        simulated_result("household-registration", "420102", uuid4(), PAYLOAD)["citizen_id"]
        for _ in range(20)
    }
    assert len(others) > 15


def test_a_certificate_number_is_one_letter_and_nine_digits() -> None:
    number = simulated_result("birth-certificate", "430602", REQUEST, {})["certificate_number"]
    assert re.fullmatch(r"[A-Z]\d{9}", number)
    assert number[1:3] == "43"


def test_a_citizen_id_without_the_birth_date_needs_the_payload() -> None:
    with pytest.raises(PayloadNeededError):
        simulated_result("household-registration", "420102", REQUEST, {"sex": "male"})


def test_an_unknown_service_is_a_key_error() -> None:
    with pytest.raises(KeyError):
        simulated_result("no-such-service", "420102", REQUEST, PAYLOAD)


def test_the_receipt_number_is_stable_and_fits_the_route() -> None:
    receipt = receipt_number("430602", REQUEST)
    assert receipt == receipt_number("430602", REQUEST) != receipt_number("430602", uuid4())
    assert len(receipt) <= 64
    assert receipt.startswith("SIM-430602-")


@pytest.mark.parametrize(
    ("kind", "role", "actions"),
    [
        ("dispatched", "receive", ("receive",)),
        ("dispatched", "both", ("receive", "approve")),
        ("dispatched", "decide", ()),  # the window receives first: `received` follows
        ("redispatched", "decide", ()),
        ("redispatched", "receive", ("receive",)),
        ("redispatched", "both", ("receive", "approve")),
        ("received", "decide", ("approve",)),
        ("deemed-accepted", "decide", ("approve",)),
        ("correction-requested", "decide", ("approve-correction",)),
        ("revocation-requested", "decide", ("revoke",)),
        ("withdrawn", "both", ()),
        ("supplemented", "receive", ()),
    ],
)
def test_what_the_office_does_on_each_message(
    kind: str, role: str, actions: tuple[str, ...]
) -> None:
    assert actions_for(kind, role) == actions
    assert actions_for(kind, role, "off-site") == actions


def test_online_the_deciding_office_receives_the_request_itself() -> None:
    assert actions_for("dispatched", "decide", "online") == ("receive", "approve")
    assert actions_for("dispatched", "receive", "online") == ("receive",)


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (b"not json", "not JSON"),
        (b"[]", "not a JSON object"),
        (b'{"type": "com.other.thing"}', "type"),
        (b'{"type": "org.newborn-ledger.request.dispatched", "source": "/x"}', "source"),
        (
            b'{"type": "org.newborn-ledger.request.dispatched", '
            b'"source": "/offices/420102/cdc", "data": {}, "subject": "nope"}',
            "subject",
        ),
    ],
)
def test_a_malformed_envelope_is_refused_with_a_reason(body: bytes, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        parse_envelope(body)


def test_an_envelope_reads_the_office_the_role_and_the_sequence() -> None:
    message = {
        "specversion": "1.0",
        "id": "msg_1",
        "type": "org.newborn-ledger.request.received",
        "source": "/offices/420102/public-security",
        "subject": str(REQUEST),
        "sequence": "17",
        "data": {"role": "decide", "service": "household-registration"},
    }
    envelope = parse_envelope(orjson.dumps(message))
    assert (envelope.kind, envelope.role, envelope.sequence) == ("received", "decide", 17)
    assert (envelope.locality, envelope.authority) == ("420102", "public-security")
    assert envelope.subject == REQUEST
    assert envelope.payload is None
    assert envelope.handling_locality == "420102"  # not said: the office it was sent to
    told = parse_envelope(orjson.dumps({**message, "data": {"handling_locality": "110105"}}))
    assert (told.handling_locality, told.mode) == ("110105", None)
