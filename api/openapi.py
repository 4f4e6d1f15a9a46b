"""The OpenAPI document, built from the operations each route module declares.

Every response body is described here, in one place (SCHEMAS): each operation names the schema
of its success answer and the status it answers with; its errors are problem+json documents,
or FHIR OperationOutcomes on the FHIR routes. Schemas list what every such body has (required)
and allow more (a case view grows with the caller's role and the case's progress)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

JSON = "application/json"
FHIR_JSON = "application/fhir+json"
PROBLEM_JSON = "application/problem+json"
HTML = "text/html"
TEXT = "text/plain"


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


PROBLEM = ref("Problem")
OUTCOME = ref("OperationOutcome")
STRING = {"type": "string"}
INTEGER = {"type": "integer"}
NUMBER_OR_NULL = {"type": ["number", "null"]}
UUID_STRING = {"type": "string", "format": "uuid"}
OBJECTS = {"type": "array", "items": {"type": "object"}}
OBJECT = {"type": "object"}


def obj(required: dict[str, Any], **optional: Any) -> dict[str, Any]:
    """An object with these required properties and these optional ones (more allowed)."""
    return {
        "type": "object",
        "required": list(required),
        "properties": {**required, **optional},
    }


STRING_OR_NULL = {"type": ["string", "null"]}
# a correction asked of an office that decided: only fields the service is sent, old and new
NULLABLE_CORRECTION = obj(
    {
        "old": {"type": "object"},
        "new": {"type": "object"},
        "evidence": {"type": "array", "items": STRING},
        "due": STRING_OR_NULL,
    },
    due_provisional={"type": "boolean"},
) | {"type": ["object", "null"]}
NULLABLE_REVOCATION = obj(
    {"reason": STRING_OR_NULL, "due": STRING_OR_NULL}, due_provisional={"type": "boolean"}
) | {"type": ["object", "null"]}


# a matter's or a service's counts in a place and month (projections/matters.py)
MATTER_COUNTS = {
    "received": INTEGER,
    "decided": INTEGER,
    "approved": INTEGER,
    "rejected": INTEGER,
    "on_time": INTEGER,
    "on_time_rate": NUMBER_OR_NULL,
}


SCHEMAS: dict[str, dict[str, Any]] = {
    "Problem": obj(
        {"type": STRING, "title": STRING, "status": INTEGER},
        detail=STRING,
        instance=STRING,
        # in Chinese (Accept-Language: zh...), the English beside; a form's every problem
        title_en=STRING,
        detail_en=STRING,
        errors={"type": "array", "items": obj({"pointer": STRING, "detail": STRING})},
    ),
    "Divisions": obj(
        {"on": STRING, "level": STRING, "divisions": OBJECTS},
        parent={"type": ["object", "null"]},
        path=OBJECTS,
    ),
    "FamilyGuide": obj(
        {"case_id": UUID_STRING, "state": STRING, "progress": {"type": "object"}},
        services=OBJECTS,
    ),
    "OperationOutcome": obj(
        {
            "resourceType": {"const": "OperationOutcome"},
            "issue": {
                "type": "array",
                "minItems": 1,
                "items": obj(
                    {"severity": STRING, "code": STRING},
                    diagnostics=STRING,
                    expression={"type": "array", "items": STRING},
                ),
            },
        }
    ),
    "Acknowledgement": obj(
        {
            "resourceType": {"const": "Bundle"},
            "type": {"const": "message"},
            "id": STRING,
            "timestamp": STRING,
            "entry": {
                "type": "array",
                "minItems": 1,
                "items": obj({"resource": {"type": "object"}}, fullUrl=STRING),
            },
        }
    ),
    "Health": obj({"status": {"const": "ok"}}),
    "Ready": obj(
        {
            "status": {"const": "ready"},
            "positions": {"type": "object", "additionalProperties": INTEGER},
        }
    ),
    "OpenAPI": obj({"openapi": STRING, "info": {"type": "object"}, "paths": {"type": "object"}}),
    "ServiceRequest": obj(
        {"service": STRING, "service_request_id": UUID_STRING, "state": STRING},
        handling_locality=STRING,
        receiving_locality=STRING,
        due={"type": ["string", "null"]},
        attempt=INTEGER,  # 1, or the resubmission's number
        resubmits={"type": ["string", "null"]},  # the rejected request it resubmits
        resubmitted_as={"type": ["string", "null"]},  # its resubmission, once made
        rejection={
            "oneOf": [
                {"type": "null"},
                obj(
                    {"reason": STRING, "basis": STRING, "remedies": OBJECTS},
                    due={"type": ["string", "null"]},
                    due_provisional={"type": "boolean"},
                ),
            ]
        },
        blocked_by={
            "oneOf": [
                {"type": "null"},
                obj({"service": STRING, "service_request_id": UUID_STRING}),
            ]
        },
    ),
    "Case": obj(
        {"case_id": UUID_STRING, "state": STRING},
        services={"type": "array", "items": {"type": "object"}},
        tracking_code=STRING,
        timeline=OBJECTS,
        viewed_by=OBJECTS,  # the family's: offices that read the case (api/audit.py)
        summary=obj(  # a closed case's: issued, rejected (reason, basis), not proceeded
            {"issued": {"type": "array"}, "rejected": OBJECTS, "not_proceeded": {"type": "array"}}
        ),
    ),
    "HospitalCases": obj({"cases": {"type": "array", "items": ref("Case")}}),
    "History": obj({"case_id": UUID_STRING, "events": OBJECTS}),
    "Rating": obj({"case_id": UUID_STRING, "score": {"type": "integer", "minimum": 1}}),
    "FamilySignIn": obj({"case_id": UUID_STRING, "token": STRING, "expires_at": STRING}),
    "Queue": obj(
        {
            "locality": STRING,
            "authority": STRING,
            "total": INTEGER,
            "limit": INTEGER,
            "offset": INTEGER,
            "rows": OBJECTS,
        },
        delivery_warnings=OBJECTS,  # the office's registry systems: dead letters, open circuit
    ),
    "Feed": obj(
        {
            "locality": STRING,
            "authority": STRING,
            "after": INTEGER,
            "next": INTEGER,
            "messages": OBJECTS,
        }
    ),
    "LocalityFigures": obj(
        {
            "locality": STRING,
            "month": STRING,
            "level": STRING,
            "follow_ups": OBJECTS,
            "matters": {"type": "array", "items": ref("MatterFigures")},
            "remote_window": obj({"booked": INTEGER, "held": INTEGER, "cancelled": INTEGER}),
        },
        received=INTEGER,
        completed=INTEGER,
        on_time_rate=NUMBER_OR_NULL,
        average_rating=NUMBER_OR_NULL,
        parked=INTEGER,
        parked_in_province=INTEGER,
        materials=ref("MaterialsFigure"),
    ),
    # the Wenzhou measure: materials required vs supplied by families vs satisfied by sharing
    "MaterialsFigure": obj(
        {
            "required": INTEGER,
            "by_family": INTEGER,
            "by_sharing": INTEGER,
            "shared": INTEGER,
            "certificate": INTEGER,
            "in_application": INTEGER,
            "on_notice": INTEGER,
            "sharing_rate": NUMBER_OR_NULL,
        }
    )
    | {
        "description": "Per matter: the lists' materials of the requests received (a "
        "resubmission's not again); on_notice: the distinct items answered one-time notices "
        "asked for, those not a listed material also in required and by_family (docs/api.md)"
    },
    # one request's materials (domain/kernel/materials.py): field names, never values
    "RequestMaterials": obj(
        {
            "source": {"type": ["string", "null"]},
            "required": OBJECTS,
            "supplied_on_notice": OBJECTS,
            "counts": {"type": "object"},
        }
    ),
    "Flows": obj({"month": STRING, "flows": OBJECTS}),
    # one matter (a wing's kind) of a place and month: its totals, and per service
    "MatterFigures": obj(
        {
            "kind": STRING,
            "name_zh": STRING,
            "name_en": STRING,
            **MATTER_COUNTS,
            "services": {
                "type": "array",
                "items": obj(
                    {"service": STRING, "name_zh": STRING, "name_en": STRING, **MATTER_COUNTS}
                ),
            },
        }
    ),
    "MatterFlows": obj(
        {
            "month": STRING,
            "kind": STRING_OR_NULL,  # the matter asked for (null: every matter)
            "flows": {
                "type": "array",
                "items": obj(
                    {
                        "month": STRING,
                        "kind": STRING,
                        "kind_name_zh": STRING,
                        "kind_name_en": STRING,
                        "service": STRING,
                        "service_name_zh": STRING,
                        "service_name_en": STRING,
                        "receiving_province": STRING,
                        "handling_province": STRING,
                        "received": INTEGER,
                        "decided": INTEGER,
                        "cross_province": {"type": "boolean"},
                    }
                ),
            },
        }
    ),
    "FollowUps": obj({"locality": STRING, "authority": STRING, "follow_ups": OBJECTS}),
    "CallBack": obj({"case_id": UUID_STRING, "outcome": STRING, "by": STRING, "at": STRING}),
    "RoutingDesk": obj(
        {
            "scope": STRING,
            "today": STRING,
            "time_limit_days": INTEGER,
            "total": INTEGER,
            "limit": INTEGER,
            "offset": INTEGER,
            "rows": OBJECTS,
        }
    ),
    "RouteRequest": obj(
        {
            "handling_locality": STRING,
            "receiving_locality": STRING,
            "mode": {"enum": ["online", "off-site", "joint", "remote-window"]},
            "reason": STRING,
        }
    ),
    "Locality": obj({"code": STRING, "name": STRING}),
    "Session": obj(
        {
            "user": STRING,
            "role": STRING,
            "scope": STRING,
            "authority": {"type": ["string", "null"]},
            "csrf_token": STRING,
            "expires": STRING,
            "idle_expires": STRING,
        }
    ),
    "SignIns": obj(
        {
            "sign_ins": {
                "type": "array",
                "items": obj(
                    {
                        "at": STRING,
                        "user_id": STRING,
                        "username": STRING,
                        "attempted_hash": STRING,
                        "method": STRING,
                        "outcome": STRING,
                        "reason": STRING,
                    }
                ),
            }
        }
    ),
    "Deliveries": obj(
        {
            "service_request_id": UUID_STRING,
            "systems": {
                "type": "array",
                "items": obj(
                    {"system_id": UUID_STRING, "label": STRING, "deliveries": OBJECTS},
                    locality=STRING,
                    authority=STRING,
                ),
            },
        }
    ),
    "AuditRows": obj(
        {
            "rows": {
                "type": "array",
                "items": obj(
                    {
                        "id": INTEGER,
                        "at": STRING,
                        "actor_id": STRING,
                        "role": STRING,
                        "kind": STRING,
                        "user": STRING,
                        "scope": STRING,
                        "authority": STRING,
                        "what": STRING,
                        "case_id": STRING,
                        "target": STRING,
                        "via": {"enum": ["api", "page"]},
                    }
                ),
            },
            "next": {"type": ["integer", "null"]},
        }
    ),
    "OfficeReads": obj(
        {
            "month": STRING,
            "scope": STRING,
            "offices": {
                "type": "array",
                "items": obj(
                    {
                        "locality": STRING,
                        "authority": STRING,
                        "reads": INTEGER,
                        "by_what": {"type": "object"},
                    }
                ),
            },
        }
    ),
    "DocumentReference": obj(  # an uploaded document, as a supplement's evidence cites it
        {"id": STRING, "sha256": STRING, "type": STRING, "size": INTEGER, "name": STRING}
    ),
    "RequestDocuments": obj(
        {
            "service_request_id": UUID_STRING,
            "documents": {"type": "array", "items": ref("DocumentReference")},
        }
    ),
    # e-certificates (api/certificates.py, docs/api.md): keys, verification, status list
    "Jwks": obj({"keys": OBJECTS}),
    "VerifyRequest": obj({"certificate": STRING}),
    "Verification": obj(
        {"status": {"enum": ["valid", "superseded", "revocation-pending", "revoked", "invalid"]}},
        jti=STRING,
        reason=STRING,
        detail=STRING,
        issuer={"type": ["string", "null"]},
        kid={"type": ["string", "null"]},
        subject={"type": "object"},
        result={"type": "object"},
        claims={"type": "object"},
    ),
    "StatusList": obj({"issuer": {"type": ["string", "null"]}, "certificates": OBJECTS}),
    "CaseCertificates": obj({"case_id": UUID_STRING, "certificates": OBJECTS}),
    "ServiceRequestView": obj(  # the clerk's workbench (api/service_requests.py)
        {
            "service_request_id": UUID_STRING,
            "case_id": UUID_STRING,
            "service": STRING,
            "state": STRING,
            "dispatched": {"type": "object"},  # exactly the fields dispatched to the office
            "notices": OBJECTS,
            "supplements": OBJECTS,
            "documents": {"type": "array", "items": ref("DocumentReference")},
            "timeline": OBJECTS,
            "clock": obj({"due": {"type": ["string", "null"]}, "whose": STRING}),
            "next": {"type": ["object", "null"]},  # or {waits_on} behind another service
            "actions": OBJECTS,
            # asked after the office's decision (null unless the request is in that state)
            "correction": NULLABLE_CORRECTION,
            "revocation": NULLABLE_REVOCATION,
        },
        role={"type": ["string", "null"]},
        receipt_number={"type": ["string", "null"]},
        result={"type": ["object", "null"]},
        materials=ref("RequestMaterials"),
        certificates=OBJECTS,  # the e-certificates its decisions issued (api/certificates.py)
    ),
    "OfficeSearchResult": obj({"locality": STRING, "authority": STRING, "rows": OBJECTS}),
    "IdCardOpened": obj({"case_id": UUID_STRING, "tracking_code": STRING}),
    "IdCardCase": obj(
        {
            "case_id": UUID_STRING,
            "kind": {"const": "id-card"},
            "state": STRING,
            # each step (request): who acts next and by when; an office's carry `fields`,
            # exactly what was dispatched to it
            "steps": OBJECTS,
            # where the card is: being-decided, produced, in-transit, arrived, collected,
            # refused (with made_by, collect_at, sent_on while in transit)
            "card": obj({"where": STRING}, made_by=OBJECT, collect_at=OBJECT, sent_on=STRING),
            "temporary_card": {"type": ["object", "null"]},
            "next": {"type": ["object", "null"]},  # who acts next on the case, by when
        },
        # the applicant's and an admin's only
        tracking_code=STRING,
        applicant=obj({"name": STRING, "citizen_id_last4": STRING}),
        reason=STRING,
        applying_division=STRING,
        hukou_division=STRING,
        identity_check=obj(
            {"method": STRING, "document": STRING}, checked_by=STRING, office=STRING
        ),
    ),
    "RemoteWindowSession": obj(
        {
            "session_id": UUID_STRING,
            "service_request_id": UUID_STRING,
            "case_id": UUID_STRING,
            "service": STRING,
            "state": {"enum": ["booked", "in-progress", "ended", "cancelled"]},
            "receiving": obj({"locality": STRING, "authority": STRING}),
            "handling": obj({"locality": STRING, "authority": STRING}),
            "starts_at": STRING,
            "ends_at": STRING,
            "joined": {"type": "array", "items": STRING},
            "next": {"type": ["object", "null"]},  # who acts next, what and by when
            "actions": OBJECTS,
        },
        mode=STRING_OR_NULL,
        side=STRING_OR_NULL,  # the caller's part: receiving or handling
        request_state=STRING,
        started_at=STRING_OR_NULL,
        ended_at=STRING_OR_NULL,
        note=STRING,  # offices and admins
        outcome=STRING_OR_NULL,
        cancel_reason=STRING_OR_NULL,
        booked_by=STRING,  # admins
        lapses_at=STRING,  # not started by then, a booked session is called off
    ),
    "RemoteWindowSessions": obj(
        {"locality": STRING, "authority": STRING, "rows": OBJECTS},
        total=INTEGER,
        limit=INTEGER,
        offset=INTEGER,
    ),
    # request bodies
    "SessionBooking": obj(
        {"service_request_id": UUID_STRING, "starts_at": STRING, "ends_at": STRING},
        note=STRING,
    ),
    "SessionStart": obj({}),
    "SessionJoin": obj({"party": {"enum": ["receiving", "handling", "applicant"]}}),
    "SessionEnd": obj({}, outcome=STRING),
    "SessionCancel": obj({"reason": STRING}),
    "TrackRequest": obj({"tracking_code": STRING, "verifier": STRING}),
    "OfficeSearch": obj({}, tracking_code=STRING, citizen_id=STRING),  # exactly one of them
    "IdCardApplication": obj(
        {
            "name": STRING,
            "citizen_id": STRING,
            "hukou_division": STRING,
            "reason": {"enum": ["first", "renewal", "replacement"]},
            "identity_document": {
                "enum": ["resident-id-card", "temporary-id-card", "household-register"]
            },
        },
        phone=STRING,
        temporary_id_card={"type": "boolean"},
    ),
    "RatingRequest": obj({"score": INTEGER}, comment=STRING),
    "CloseRequest": obj({}, reason=STRING),
    "CallBackRequest": obj({"outcome": STRING}, note=STRING),
    "FamilyApplication": obj(
        {"child_name": STRING, "household": STRING, "residence_division": STRING},
        insured_division=STRING,
        consent={"type": "boolean"},
        contact_phone=STRING,
        mother_insured_division=STRING,
        mother_insured={"type": "boolean"},
        evidence=OBJECTS,
    ),
    "MarriageParty": obj(
        {
            "name": STRING,
            "citizen_id": STRING,
            "hukou_division": STRING,
            "residence_division": STRING,
        },
        phone=STRING,
    ),
    "MarriageApplication": obj(
        {
            "party_a": ref("MarriageParty"),
            "party_b": ref("MarriageParty"),
            "registration_place": {"enum": ["party-a-hukou", "party-b-hukou", "residence-permit"]},
        },
        permit_holder={"enum": ["a", "b"]},  # whose residence permit (at its place)
    ),
    "MarriageOpened": obj(
        {
            "case_id": UUID_STRING,
            "tracking_code": STRING,
            "registration_division": STRING,
            "identity_check": {"enum": ["online", "window"]},
            "bring": ref("MarriageMaterials"),
            "follow": obj({"page": STRING, "sign_in": STRING, "case": STRING}),
        }
    ),
    # what the couple bring to the registration office in person (the wing's materials list)
    "MarriageMaterials": {
        "type": "array",
        "items": obj({"code": STRING, "name_zh": STRING, "name": STRING, "note": STRING_OR_NULL}),
    },
    # POST /cases/{id}/close: the view of the case's kind
    "ClosedCase": {"anyOf": [ref("Case"), ref("MarriageCase"), ref("IdCardCase")]},
    "MarriageCase": obj(
        {
            "case_id": UUID_STRING,
            "kind": {"const": "marriage"},
            "state": STRING,
            "registration_place": STRING,
            "registration_division": STRING,
            "parties": {"type": "object"},  # party_a, party_b: those the caller may see
            "services": {
                "type": "array",
                "items": obj(
                    {
                        "service": STRING,
                        "service_request_id": UUID_STRING,
                        "state": STRING,
                        "authority": STRING,
                        "handling_locality": STRING,
                        "receiving_locality": STRING,
                    },
                    mode=STRING_OR_NULL,
                    manual_routing={"type": "boolean"},
                    due=STRING_OR_NULL,
                    result={"type": ["object", "null"]},
                    next={"type": ["object", "null"]},
                    certificates=OBJECTS,
                ),
            },
            "next": {"type": ["object", "null"]},
            "bring": ref("MarriageMaterials"),
        },
        tracking_code=STRING,
    ),
    "Bundle": obj({"resourceType": {"const": "Bundle"}}),
    "CapabilityStatement": obj(
        {"resourceType": {"const": "CapabilityStatement"}, "fhirVersion": STRING},
        messaging=OBJECTS,
    ),
    "ParkedEvents": obj(
        {
            "parked": {"type": "object", "additionalProperties": INTEGER},
            "events": {
                "type": "array",
                "items": obj(
                    {
                        "view": STRING,
                        "position": INTEGER,
                        "topic": STRING,
                        "error": STRING,
                        "state": STRING,
                    },
                    reason=STRING,
                ),
            },
        }
    ),
}
# What a success answer's media type holds when it is not JSON.
TEXT_BODY = {"type": "string"}


@dataclass(frozen=True)
class Operation:
    """One documented operation: path, method, who may call it, what it answers.

    `answer` names the success body's schema in SCHEMAS (None: no body, or `media` is not
    JSON); `ok` is the success status; `responses` the errors (and other answers) by status;
    `fhir` makes the errors OperationOutcomes instead of problem+json."""

    path: str
    method: str
    summary: str
    roles: tuple[str, ...] = ()
    body: str | None = None
    responses: dict[int, str] = field(default_factory=dict)
    params: tuple[str, ...] = ()
    answer: str | None = None
    ok: int = 200
    ok_text: str = "OK"
    media: tuple[str, ...] = (JSON,)
    fhir: bool = False
    request_schema: str | None = None
    headers: tuple[tuple[str, dict[str, Any]], ...] = ()  # optional request headers: schemas
    ok_headers: tuple[tuple[str, str], ...] = ()  # headers a success answer may carry: what


def _success(op: Operation) -> dict[str, Any]:
    if op.ok == 204:
        return {"description": op.ok_text}
    schema = ref(op.answer) if op.answer else TEXT_BODY
    success = {"description": op.ok_text, "content": {m: {"schema": schema} for m in op.media}}
    if op.ok_headers:
        success["headers"] = {
            name: {"description": text, "schema": STRING} for name, text in op.ok_headers
        }
    return success


def _error(op: Operation, text: str) -> dict[str, Any]:
    media, schema = (FHIR_JSON, OUTCOME) if op.fhir else (PROBLEM_JSON, PROBLEM)
    return {"description": text, "content": {media: {"schema": schema}}}


def _errors(op: Operation) -> dict[int, str]:
    """The operation's own errors, and those its kind of route gives whatever it declares."""
    errors = dict(op.responses)
    # every route: api/inputs.py refuses control characters before routing
    errors.setdefault(400, "The path or query holds a control character (such as NUL)")
    if op.roles:
        errors.setdefault(401, "No or bad token")
        errors.setdefault(404, "No such resource for this caller")
    if op.body == JSON:
        errors.setdefault(400, "The body is not a JSON object")
        errors.setdefault(413, "The body is too large")
        errors.setdefault(415, "The body is not application/json")
        errors.setdefault(422, "A field is missing or invalid")
    return errors


def _operation(op: Operation) -> dict[str, Any]:
    responses: dict[str, Any] = {str(op.ok): _success(op)}
    for status, text in sorted(_errors(op).items()):
        if status == op.ok:
            continue
        responses[str(status)] = _error(op, text) if status >= 400 else {"description": text}
    doc: dict[str, Any] = {"summary": op.summary, "responses": responses}
    if op.roles:
        doc["security"] = [{"bearer": []}]
        doc["description"] = "Roles: " + ", ".join(op.roles)
    params = [
        {"name": name, "in": "path", "required": True, "schema": _path_schema(kind)}
        for name, kind in _path_params(op.path)
    ]
    params += [
        {"name": q, "in": "query", "required": False, "schema": {"type": "string"}}
        for q in op.params
    ]
    params += [
        {"name": name, "in": "header", "required": False, "schema": schema}
        for name, schema in op.headers
    ]
    if params:
        doc["parameters"] = params
    if op.body:
        schema = ref(op.request_schema) if op.request_schema else {"type": "object"}
        doc["requestBody"] = {"required": True, "content": {op.body: {"schema": schema}}}
    return doc


def _path_params(path: str) -> list[tuple[str, str]]:
    """(name, Starlette convertor) of each `{name:kind}` segment."""
    found = [p.strip("{}").split(":") for p in path.split("/") if p.startswith("{")]
    return [(parts[0], parts[1] if len(parts) > 1 else "str") for parts in found]


def _path_schema(kind: str) -> dict[str, Any]:
    return UUID_STRING if kind == "uuid" else STRING


def openapi_document(operations: list[Operation], version: str) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for op in operations:
        path = "/".join(p.split(":")[0] + ("}" if ":" in p else "") for p in op.path.split("/"))
        paths.setdefault(path, {})[op.method.lower()] = _operation(op)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "newborn-ledger",
            "version": version,
            "description": "Case ledger for the cross-province newborn 'one thing' service",
        },
        "paths": paths,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": SCHEMAS,
        },
    }
