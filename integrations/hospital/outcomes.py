"""Replies to hospitals as JSON-ready dicts: OperationOutcome, acknowledgement, error message.

Pure builders: the caller passes the timestamp (no clock here), and ids derive from the
request, so a repeated message gets a byte-identical acknowledgement.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from hashlib import sha1
from typing import Any
from uuid import UUID

from integrations.hospital.identifiers import BASE, EVENT_CODE_BY_KIND, EVENT_SYSTEM
from integrations.hospital.issues import Issue

JSON = dict[str, Any]
REPLY_NAMESPACE = UUID("6f1d1f0e-3c55-5b8e-9a43-1c1f2b7b5a10")
_NAMESPACE = REPLY_NAMESPACE.bytes
LEDGER_ENDPOINT = f"{BASE}/$process-message"


def operation_outcome(issues: Sequence[Issue]) -> JSON:
    """An OperationOutcome with one issue per problem (at least one: FHIR requires it)."""
    rendered = [_issue(issue) for issue in issues] or [
        {"severity": "information", "code": "informational", "diagnostics": "No problems"}
    ]
    return {"resourceType": "OperationOutcome", "issue": rendered}


def _issue(issue: Issue) -> JSON:
    rendered: JSON = {
        "severity": issue.severity,
        "code": issue.code,
        "diagnostics": issue.diagnostics,
    }
    if issue.expression:
        rendered["expression"] = [issue.expression]
    return rendered


def acknowledgement(
    request_message_id: str,
    case_id: UUID | str,
    tracking_code: str,
    sender_ref: str | None = None,
    *,
    timestamp: datetime,
    kind: str = "notify",
    version: str = "R4",
    warnings: Sequence[Issue] = (),
) -> JSON:
    """The reply to an accepted message (new or repeated): response.code ok, focus the case.

    `sender_ref` is where the reply goes: the request's MessageHeader.source.endpoint.
    `version` "R5" writes the R5 shapes (endpointUrl, response.identifier an Identifier)
    for a sender that wrote R5. `warnings` (facts given but not taken) go in an
    OperationOutcome that response.details references.
    """
    seed = f"{request_message_id}:{case_id}"  # message ids are unique per sender only
    parameters_id = _id("parameters", seed)
    params_url = f"urn:uuid:{parameters_id}"
    header = _header(seed, request_message_id, "ok", kind, sender_ref)
    if version == "R5":
        header = _as_r5(header)
    case = {"reference": f"cases/{case_id}", "display": f"case {case_id}"}
    header["focus"] = [case, {"reference": params_url}]
    parameters = _case_parameters(parameters_id, str(case_id), tracking_code)
    if not warnings:
        return _bundle(seed, timestamp, header, (params_url, parameters))
    outcome_id = _id("warnings", seed)
    outcome_url = f"urn:uuid:{outcome_id}"
    header["response"] = {**header["response"], "details": {"reference": outcome_url}}
    outcome = {"resourceType": "OperationOutcome", "id": outcome_id}
    outcome["issue"] = operation_outcome(warnings)["issue"]
    return _bundle(seed, timestamp, header, (params_url, parameters), (outcome_url, outcome))


def _case_parameters(parameters_id: str, case_id: str, tracking_code: str) -> JSON:
    """The case id and family tracking code, as the Parameters entry the ack focuses."""
    return {
        "resourceType": "Parameters",
        "id": parameters_id,
        "parameter": [
            {"name": "case_id", "valueString": case_id},
            {"name": "tracking_code", "valueString": tracking_code},
            {"name": "case", "valueUri": f"/cases/{case_id}"},
        ],
    }


def error_message(
    request_message_id: str,
    issues: Sequence[Issue],
    sender_ref: str | None = None,
    *,
    timestamp: datetime,
    kind: str = "notify",
) -> JSON:
    """A message Bundle answering a rejected message: response.code fatal-error + OperationOutcome.

    `request_message_id` must be a valid FHIR id (IntakeRejectedError.message_id is, or None:
    without it, answer with `operation_outcome` alone).
    """
    seed = f"{request_message_id}:error"
    outcome_id = _id("outcome", seed)
    outcome_url = f"urn:uuid:{outcome_id}"
    header = _header(seed, request_message_id, "fatal-error", kind, sender_ref)
    header["response"]["details"] = {"reference": outcome_url}
    outcome = {"resourceType": "OperationOutcome", "id": outcome_id}
    outcome["issue"] = operation_outcome(issues)["issue"]
    return _bundle(seed, timestamp, header, (outcome_url, outcome))


def _header(
    seed: str, request_message_id: str, code: str, kind: str, sender_ref: str | None
) -> JSON:
    header: JSON = {
        "resourceType": "MessageHeader",
        "id": _id("header", seed),
        "eventCoding": {"system": EVENT_SYSTEM, "code": EVENT_CODE_BY_KIND.get(kind, kind)},
    }
    if sender_ref:
        header["destination"] = [{"endpoint": sender_ref}]
    header["source"] = {"name": "newborn-ledger", "endpoint": LEDGER_ENDPOINT}
    header["response"] = {"identifier": request_message_id, "code": code}
    return header


def _as_r5(header: JSON) -> JSON:
    """An R4 MessageHeader as R5 writes it: endpointUrl, and an Identifier to respond to."""
    r5 = dict(header)
    if "destination" in r5:
        r5["destination"] = [{"endpointUrl": d["endpoint"]} for d in r5["destination"]]
    r5["source"] = {"name": r5["source"]["name"], "endpointUrl": r5["source"]["endpoint"]}
    response = dict(r5["response"])
    response["identifier"] = {"value": response["identifier"]}
    r5["response"] = response
    return r5


def _bundle(seed: str, timestamp: datetime, header: JSON, *entries: tuple[str, JSON]) -> JSON:
    if timestamp.utcoffset() is None:
        raise ValueError("A FHIR instant needs a timezone: pass an aware timestamp")
    header_entry = {"fullUrl": f"urn:uuid:{header['id']}", "resource": header}
    return {
        "resourceType": "Bundle",
        "id": _id("bundle", seed),
        "type": "message",
        "timestamp": timestamp.isoformat(),
        "entry": [header_entry, *({"fullUrl": url, "resource": res} for url, res in entries)],
    }


def _id(part: str, seed: str) -> str:
    """str(uuid5(REPLY_NAMESPACE, f"{part}:{seed}")), without building a UUID object."""
    digest = bytearray(sha1(_NAMESPACE + f"{part}:{seed}".encode()).digest()[:16])
    digest[6] = (digest[6] & 0x0F) | 0x50  # version 5
    digest[8] = (digest[8] & 0x3F) | 0x80  # RFC 4122 variant
    h = digest.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
