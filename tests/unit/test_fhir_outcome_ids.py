"""The replies' ids, built without UUID objects, are the uuid5 ids they always were: the
acknowledgement and the error message equal the former builders' (kept here) exactly."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from typing import Any
from uuid import UUID, uuid4, uuid5

import pytest

from integrations.hospital import outcomes
from integrations.hospital.identifiers import EVENT_CODE_BY_KIND, EVENT_SYSTEM
from integrations.hospital.issues import Issue

AT = datetime(2026, 11, 20, 8, 30, tzinfo=timezone(timedelta(hours=8)))
JSON = dict[str, Any]


def _former_id(part: str, seed: str) -> str:
    return str(uuid5(outcomes.REPLY_NAMESPACE, f"{part}:{seed}"))


def _former_urn(part: str, seed: str) -> str:
    return f"urn:uuid:{_former_id(part, seed)}"


def _former_header(seed: str, request: str, code: str, kind: str, sender: str | None) -> JSON:
    header: JSON = {
        "resourceType": "MessageHeader",
        "id": _former_id("header", seed),
        "eventCoding": {"system": EVENT_SYSTEM, "code": EVENT_CODE_BY_KIND.get(kind, kind)},
    }
    if sender:
        header["destination"] = [{"endpoint": sender}]
    header["source"] = {"name": "newborn-ledger", "endpoint": outcomes.LEDGER_ENDPOINT}
    header["response"] = {"identifier": request, "code": code}
    return header


def _former_bundle(seed: str, header: JSON, *entries: tuple[str, JSON]) -> JSON:
    return {
        "resourceType": "Bundle",
        "id": _former_id("bundle", seed),
        "type": "message",
        "timestamp": AT.isoformat(),
        "entry": [
            {"fullUrl": _former_urn("header", seed), "resource": header},
            *({"fullUrl": url, "resource": res} for url, res in entries),
        ],
    }


def _former_ack(
    request: str, case_id: UUID | str, code: str, sender: str | None, kind: str
) -> JSON:
    seed = f"{request}:{case_id}"
    params_url = _former_urn("parameters", seed)
    header = _former_header(seed, request, "ok", kind, sender)
    case = {"reference": f"cases/{case_id}", "display": f"case {case_id}"}
    header["focus"] = [case, {"reference": params_url}]
    parameters = {
        "resourceType": "Parameters",
        "id": _former_id("parameters", seed),
        "parameter": [
            {"name": "case_id", "valueString": str(case_id)},
            {"name": "tracking_code", "valueString": code},
            {"name": "case", "valueUri": f"/cases/{case_id}"},
        ],
    }
    return _former_bundle(seed, header, (params_url, parameters))


def _former_error(request: str, issues: Sequence[Issue], sender: str | None, kind: str) -> JSON:
    seed = f"{request}:error"
    outcome_url = _former_urn("outcome", seed)
    header = _former_header(seed, request, "fatal-error", kind, sender)
    header["response"]["details"] = {"reference": outcome_url}
    outcome = {"resourceType": "OperationOutcome", "id": _former_id("outcome", seed)}
    outcome["issue"] = outcomes.operation_outcome(issues)["issue"]
    return _former_bundle(seed, header, (outcome_url, outcome))


REQUESTS = ["m-1", "MSG.0001", "a" * 64, "消息-1", "x:y", "", *(str(uuid4()) for _ in range(50))]


@pytest.mark.parametrize("request_id", REQUESTS)
def test_replies_are_the_former_ones(request_id: str) -> None:
    issues = [Issue("error", "required", "missing", "Bundle.entry[0]")]
    for case_id, sender, kind in (
        (uuid4(), None, "notify"),
        (str(uuid4()), "http://hospital.example/fhir", "update"),
        (uuid4(), "urn:uuid:1", "void"),
    ):
        ours = outcomes.acknowledgement(
            request_id, case_id, "7K3M9Q2XHB4T", sender, timestamp=AT, kind=kind
        )
        assert ours == _former_ack(request_id, case_id, "7K3M9Q2XHB4T", sender, kind)
        error = outcomes.error_message(request_id, issues, sender, timestamp=AT, kind=kind)
        assert error == _former_error(request_id, issues, sender, kind)
