"""Bytes → a validated FHIR message Bundle (R4 through R4B, else R5), or a 400/422 rejection."""

from __future__ import annotations

import logging
import re
from functools import lru_cache
from typing import Any

import orjson
from fhir.resources import get_fhir_model_class as r5_model_class
from fhir.resources.bundle import Bundle as R5Bundle
from fhir.resources.R4B import get_fhir_model_class as r4_model_class
from fhir.resources.R4B.bundle import Bundle as R4Bundle
from fhir.resources.R4B.resource import Resource as R4Resource
from fhir.resources.resource import Resource as R5Resource
from pydantic import ValidationError

from integrations.hospital.identifiers import (
    EVENT_SYSTEM,
    KIND_BY_EVENT_CODE,
    KIND_BY_NVSS_URI,
)
from integrations.hospital.issues import (
    MAX_STRUCTURE_ISSUES,
    IntakeRejectedError,
    Issue,
    Issues,
    reject,
    structure_issues,
)
from integrations.hospital.required import missing_required
from integrations.hospital.versions import PROCESSED, Version, declared, detect

logger = logging.getLogger(__name__)

HEADER = "Bundle.entry[0].resource"
FHIR_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")
NUMBER = re.compile(r"[0-9]{1,18}")  # an index in a FHIRPath (ASCII digits: "²" is not one)
FHIR_MODELS = ((R4Bundle, "R4"), (R5Bundle, "R5"))


def read_message(raw: bytes, media_version: str | None = None) -> tuple[str | None, Any, str]:
    """Return (message kind, validated Bundle model, FHIR version "R4" | "R5"); the kind is
    None only if no event. `media_version` is the Content-Type's fhirVersion parameter."""
    data = _json_object(raw)
    header = _message_header(data)
    try:
        stated, typed = detect(data, header)
        version = declared(media_version) or stated or typed
        if version is not None and version.name not in PROCESSED:
            raise _old_version(version)
        if stated is not None and typed is not None and stated.name != typed.name:
            raise _mixed(stated, typed)
        kind = event_kind(header)
        if header.get("response") is not None:
            text = "This is a response message (MessageHeader.response): send requests only"
            raise reject(422, "not-supported", f"{HEADER}.response", text)
        issues = Issues()
        _check_resource_types(data.get("entry"), "Bundle", issues)
        issues.raise_if_any(400)
        bundle, name = _validated(data, version.name if version else None)
        return kind, bundle, name
    except IntakeRejectedError as exc:
        exc.message_id = valid_id(header.get("id"))
        raise


def _mixed(stated: Version, found: Version) -> IntakeRejectedError:
    text = f"The {found.evidence}, but this message is FHIR {stated.name} ({stated.evidence})"
    return reject(400, "not-supported", found.expression, text)


def _old_version(version: Version) -> IntakeRejectedError:
    text = (
        f"This message is FHIR {version.name} ({version.evidence}): this endpoint takes "
        "FHIR R4 (4.0.1 / R4B 4.3.0) messages; R5 is read too"
    )
    return reject(400, "not-supported", version.expression, text)


def valid_id(value: object) -> str | None:
    """The value if it is a valid FHIR id (1-64 of A-Z a-z 0-9 - .), else None."""
    return value if isinstance(value, str) and FHIR_ID.fullmatch(value) else None


WHOLE = "Bundle"  # where an answer about the whole message points
SHOWN = 40  # characters of a sender's value quoted back in a diagnostic


def shown(value: object) -> str:
    """A sender's value quoted in a diagnostic: repr (control characters escaped), cut short."""
    text = repr(value)
    return text if len(text) <= SHOWN else text[: SHOWN - 3] + "..."


def _json_object(raw: bytes) -> dict[str, Any]:
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:  # its text says where: line, column, character
        raise reject(400, "structure", WHOLE, f"The body is not JSON: {exc}") from None
    if not isinstance(data, dict):
        text = "The body is JSON but not a FHIR resource (an object with a resourceType)"
        raise reject(400, "structure", WHOLE, text)
    if not isinstance(data.get("resourceType"), str):
        text = "The body is JSON but not a FHIR resource: resourceType is missing"
        raise reject(400, "structure", f"{WHOLE}.resourceType", text)
    return data


def _message_header(data: dict[str, Any]) -> dict[str, Any]:
    kind = data["resourceType"]
    if kind != "Bundle":
        text = f"Expected a Bundle of type message, got resourceType {shown(kind)}"
        where = kind if kind.isidentifier() else f"{WHOLE}.resourceType"
        raise reject(400, "structure", where, text)
    if data.get("type") != "message":
        text = f"Bundle.type is {shown(data.get('type'))}: send a Bundle of type 'message'"
        raise reject(400, "structure", "Bundle.type", text)
    entries = data.get("entry")
    first = entries[0] if isinstance(entries, list) and entries else None
    header = first.get("resource") if isinstance(first, dict) else None
    if not isinstance(header, dict) or header.get("resourceType") != "MessageHeader":
        text = "The first entry of a message Bundle must be its MessageHeader"
        raise reject(400, "structure", HEADER, text)
    return header


def event_kind(header: dict[str, Any]) -> str | None:
    """'notify' | 'update' | 'void' from the event; 422 for an event we do not process."""
    coding = header.get("eventCoding")
    if isinstance(coding, dict) and isinstance(coding.get("code"), str):
        kind = KIND_BY_EVENT_CODE.get(coding["code"])
        if coding.get("system") == EVENT_SYSTEM and kind:
            return kind
        event = f"{coding.get('system')}|{coding['code']}"
        raise _unsupported(f"{HEADER}.eventCoding", event)
    for element in ("eventUri", "eventCanonical"):
        uri = header.get(element)
        if isinstance(uri, str):
            if uri in KIND_BY_NVSS_URI:
                return KIND_BY_NVSS_URI[uri]
            raise _unsupported(f"{HEADER}.{element}", uri)
    return None


def _unsupported(expression: str, event: str) -> IntakeRejectedError:
    text = (
        f"The message event {event} is not processed here: send {EVENT_SYSTEM} "
        "birth-notification, birth-notification-update or birth-notification-void"
    )
    return reject(422, "not-supported", expression, text)


def _check_resource_types(entries: object, path: str, issues: Issues) -> None:
    """Unknown resource types are reported here: the FHIR library raises KeyError on them."""
    if not isinstance(entries, list):
        return  # structural validation reports it
    for i, entry in enumerate(entries):
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if not isinstance(resource, dict):
            continue
        where = f"{path}.entry[{i}].resource"
        name = resource.get("resourceType")
        if not isinstance(name, str) or not _is_resource_type(name):
            issues.add("structure", where, f"resourceType {name!r} is not a FHIR resource type")
        elif name == "Bundle":
            _check_resource_types(resource.get("entry"), where, issues)


def _with_missing(issues: list[Issue], data: dict[str, Any], version: str) -> list[Issue]:
    """pydantic's issues and the required elements it skipped where others failed (see
    required.py), each element once, in the order of the message."""
    if len(issues) > MAX_STRUCTURE_ISSUES:
        return issues  # already capped: "... and N more"
    model_of = _R4_MODEL if version == "R4" else _R5_MODEL
    seen = {issue.expression for issue in issues}
    extra = [i for i in missing_required(data, model_of, version) if i.expression not in seen]
    return sorted(issues + extra[: MAX_STRUCTURE_ISSUES - len(issues)], key=_document_order)


def _document_order(issue: Issue) -> list[tuple[int, str | int]]:
    """Sort key: 'Bundle.entry[10].resource.id' after 'Bundle.entry[2].resource'."""
    parts = re.split(r"[.\[\]]+", issue.expression or "")
    return [(1, int(p)) if NUMBER.fullmatch(p) else (0, p) for p in parts if p]


def _model_or_none(model_class: Any, base: Any) -> Any:
    """model_class(name) for a resource type of this version, else None."""

    def model_of(name: str) -> Any:
        try:
            found = model_class(name)
        except (KeyError, ValueError, TypeError):
            return None
        return found if isinstance(found, type) and issubclass(found, base) else None

    return model_of


_R4_MODEL = _model_or_none(r4_model_class, R4Resource)
_R5_MODEL = _model_or_none(r5_model_class, R5Resource)


@lru_cache(maxsize=512)
def _is_resource_type(name: str) -> bool:
    for model_class, base in ((r4_model_class, R4Resource), (r5_model_class, R5Resource)):
        try:
            if issubclass(model_class(name), base):
                return True
        except (KeyError, ValueError, TypeError):
            continue
    return False


def _validated(data: dict[str, Any], version: str | None) -> tuple[Any, str]:
    """Validate as the version the message shows; else as R4 (R4B models), then R5, and
    report the version the content is closer to (an R5 message gets no R4 complaints)."""
    models = [(m, v) for m, v in FHIR_MODELS if version in (None, v)]
    failures: list[list[Issue]] = []
    for model, name in models:
        bundle, issues = _validate(model, data, name)
        if bundle is not None:
            return bundle, name
        failures.append(issues)
    raise IntakeRejectedError(400, min(failures, key=len))


def _validate(model: Any, data: dict[str, Any], version: str) -> tuple[Any, list[Issue]]:
    try:
        return model.model_validate(data), []
    except ValidationError as exc:
        return None, _with_missing(structure_issues(exc, version), data, version)
    except Exception as exc:  # the FHIR library trips over some garbage instead of reporting it
        logger.warning("FHIR %s validation raised %s", version, type(exc).__name__)
        text = f"The content cannot be read as FHIR {version}: an element has an unknown shape"
        found = _with_missing([], data, version)
        return None, [Issue("error", "structure", text, "Bundle"), *found]
