"""The CapabilityStatement served at /fhir/metadata: what the hospital endpoint accepts.

A constant document (no clock: `date` is the profile's release date), valid FHIR R4B, that
names the messaging endpoint, the message events (as MessageDefinitions of the profile) and
the one format taken.
"""

from __future__ import annotations

from typing import Any, Final

from integrations.hospital.identifiers import BASE, EVENT_CODE_BY_KIND
from integrations.hospital.outcomes import LEDGER_ENDPOINT

FHIR_VERSION: Final = "4.3.0"  # R4B models; R4 (4.0.1) content validates the same
PROFILE_DATE: Final = "2026-12-07"
FORMATS: Final = ("application/fhir+json",)
PROCESS_MESSAGE: Final = "http://hl7.org/fhir/OperationDefinition/MessageHeader-process-message"
TRANSPORT: Final = "http://terminology.hl7.org/CodeSystem/message-transport"


def message_definition(code: str) -> str:
    """The canonical URL of the MessageDefinition of one of the profile's events."""
    return f"{BASE}/MessageDefinition/{code}"


def capability_statement(software_version: str) -> dict[str, Any]:
    """The server's CapabilityStatement (kind instance, messaging receiver)."""
    return {
        "resourceType": "CapabilityStatement",
        "id": "newborn-ledger",
        "url": f"{BASE}/CapabilityStatement/newborn-ledger",
        "name": "NewbornLedgerHospitalIntake",
        "title": "newborn-ledger hospital birth-notification intake",
        "status": "active",
        "date": PROFILE_DATE,
        "publisher": "newborn-ledger",
        "kind": "instance",
        "software": {"name": "newborn-ledger", "version": software_version},
        "implementation": {
            "description": "Hospital birth notifications as FHIR messages",
            "url": LEDGER_ENDPOINT,
        },
        "fhirVersion": FHIR_VERSION,
        "format": list(FORMATS),
        "rest": [_rest()],
        "messaging": [_messaging()],
    }


def _rest() -> dict[str, Any]:
    return {
        "mode": "server",
        "documentation": "Bearer tokens per facility; only $process-message is offered",
        "security": {"cors": False, "description": "Authorization: Bearer <hospital token>"},
        "operation": [{"name": "process-message", "definition": PROCESS_MESSAGE}],
    }


def _messaging() -> dict[str, Any]:
    events = [message_definition(code) for code in EVENT_CODE_BY_KIND.values()]
    return {
        "endpoint": [
            {"protocol": {"system": TRANSPORT, "code": "http"}, "address": LEDGER_ENDPOINT}
        ],
        "reliableCache": 0,
        "documentation": "Synchronous: each message is answered by its acknowledgement",
        "supportedMessage": [{"mode": "receiver", "definition": url} for url in events],
    }
