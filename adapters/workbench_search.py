"""The clerk's search: an office's requests found by a case's tracking code or by a parent's
citizen ID (the office_search projection's blind index: no citizen ID in clear)."""

from __future__ import annotations

import unicodedata
from typing import Any
from uuid import UUID

from adapters.bootstrap import Container
from adapters.case_reads import case_requests
from adapters.workbench import office_role
from domain.kernel.applicants import TRACKING_ALPHABET, TRACKING_LENGTH
from domain.kernel.errors import CaseNotFoundError
from domain.kernel.identifiers import citizen_id as checked_citizen_id
from domain.kernel.service_request import ServiceRequest
from projections.office_search import parent_ids


def search_requests(
    container: Container,
    office: tuple[str, str],
    *,
    tracking_code: str | None = None,
    citizen_id: str | None = None,
) -> list[ServiceRequest]:
    """The office's (locality, authority) requests of the case a tracking code names, or
    that were sent a parent's citizen ID: in the payload in force or in a pending
    correction's new values (both the old and the new ID find it until the office decides;
    an ID corrected away finds nothing). Only the office's own index rows are read, so no
    other office's request is loaded."""
    if tracking_code is not None:
        return _by_tracking_code(container, office, tracking_code)
    wanted = (citizen_id or "").strip().upper()
    locality, authority = office
    found = []
    for request_id in container.projections.office_search_view.requests_of(
        wanted, locality, authority
    ):
        request = container.ledger.get_request(UUID(request_id))
        if _of_office(office, request) and wanted in _parents_named(request):
            found.append(request)
    return found


def _parents_named(request: ServiceRequest) -> set[str]:
    """The parents' citizen IDs the request holds now: its payload's, and those of the
    correction the office has yet to decide."""
    return {*parent_ids(request.payload), *parent_ids(request.corrected_payload)}


def _by_tracking_code(
    container: Container, office: tuple[str, str], code: str
) -> list[ServiceRequest]:
    status = container.projections.case_status_view.by_tracking_code(code.strip().upper())
    if status is None:
        return []
    try:
        case = container.ledger.get_case(UUID(status.case_id))
    except CaseNotFoundError:
        return []
    return [r for r in case_requests(container.ledger, case) if _of_office(office, r)]


def _of_office(office: tuple[str, str], request: ServiceRequest) -> bool:
    """Routed to or received by the office (access.office_may_see's rule for its scope)."""
    locality, authority = office
    return request.authority == authority and locality in (
        request.handling_locality,
        request.receiving_locality,
    )


def search_row(request: ServiceRequest, locality: str) -> dict[str, Any]:
    """A found request as the search lists it: enough to tell the family's child apart."""
    payload = request.payload
    return {
        "service_request_id": str(request.id),
        "case_id": str(request.case_id),
        "service": request.service,
        "state": request.state,
        "role": office_role(locality, request),
        "due": request.due,
        "due_provisional": bool(request.due_provisional),
        "child_name": payload.get("child_name"),
        "born_at": payload.get("born_at"),
    }


def tracking_code_shape(code: str) -> str | None:
    """The code normalised (NFKC: full-width letters and digits as ASCII; upper case, no
    spaces or hyphens) if it has a tracking code's shape (12 letters of its alphabet), else
    None."""
    text = unicodedata.normalize("NFKC", code).replace("-", "").replace(" ", "").strip()
    if not text.isascii():  # "ß".upper() is "SS": letters outside ASCII are not the code's
        return None
    text = text.upper()
    if len(text) == TRACKING_LENGTH and set(text) <= set(TRACKING_ALPHABET):
        return text
    return None


def citizen_id_shape(value: str) -> str:
    """The citizen ID normalised (NFKC first: an input method's full-width digits and X
    are the ASCII ones), or InvalidIdentifierError naming `citizen_id`."""
    return checked_citizen_id(unicodedata.normalize("NFKC", value))
