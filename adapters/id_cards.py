"""ID cards issued off-site (domain/idcards/): the window clerk's application, and the case
as its applicant, its offices and an admin read it (docs/api.md, ID cards).

Who sees what: the applicant (the family token of POST /track, scoped to the case) and an
admin the whole case; an office of the authority its requests are routed to or received by
only those requests, each with the fields its step was dispatched (data minimisation), and
no applicant particulars at the case level; anyone else the same 404 as a missing case."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from adapters.bootstrap import Container
from domain.idcards.case import IdCardCase
from domain.idcards.services import ApplyForIdCard, apply_for_id_card
from domain.kernel.access import OutOfScopeError, office_may_see
from domain.kernel.actors import Principal
from domain.kernel.errors import CaseNotFoundError
from domain.kernel.service_request import RequestState, ServiceRequest
from domain.wings import service as service_definition

PRODUCTION, DELIVERY, TEMPORARY = "id-card-production", "id-card-delivery", "temporary-id-card"
WINDOW_AUTHORITY = "public-security"

# who acts next on a request in each state, per service: (side, what they do)
_NEXT: dict[str, dict[RequestState, tuple[str, str]]] = {
    PRODUCTION: {
        RequestState.DISPATCHED: ("receiving", "accept the application (受理) at the window"),
        RequestState.RECEIVED: ("handling", "decide and produce the card (审核制证)"),
    },
    DELIVERY: {
        RequestState.DISPATCHED: ("receiving", "record the card's arrival at the window"),
        RequestState.RECEIVED: ("handling", "hand the card over (collection receipt)"),
    },
    TEMPORARY: {
        RequestState.DISPATCHED: ("receiving", "accept the temporary card application"),
        RequestState.RECEIVED: ("handling", "issue the temporary card"),
    },
}


def open_id_card(container: Container, principal: Principal, cmd: ApplyForIdCard) -> dict[str, str]:
    """Open the case for the applicant at the clerk's window: the clerk's county is the
    applying place, the identity check the clerk's (in person, at the window)."""
    tracking = container.ledger.tracking_codes()
    case_id = apply_for_id_card(container.ledger, cmd, tracking)
    container.after_command()
    return {"case_id": str(case_id), "tracking_code": tracking}


def window_command(principal: Principal, **answers: Any) -> ApplyForIdCard:
    """The command with the clerk's own place and identity (never the body's say)."""
    return ApplyForIdCard(
        **answers,
        applying_division=principal.scope,
        checked_by=str(principal.actor_id),
        authority=principal.authority or "",
    )


def id_card_view(container: Container, principal: Principal, case_id: UUID) -> dict[str, Any]:
    """The case as the caller may see it (OutOfScopeError: as if there were no such case)."""
    try:
        case = container.ledger.kernel_case(case_id)
    except CaseNotFoundError:
        raise OutOfScopeError() from None
    if not isinstance(case, IdCardCase):
        raise OutOfScopeError()
    requests = container.ledger.latest_requests(case.id, case.planned_services)
    whole = principal.role == "admin" or (
        principal.role == "family" and principal.scope == str(case.id)
    )
    shown = requests if whole else [r for r in requests if _office_sees(principal, r)]
    if not shown and not whole:
        raise OutOfScopeError()
    by_service = {r.service: r for r in requests}
    steps = [_step(principal, r, whole, case, by_service) for r in shown]
    view: dict[str, Any] = {
        "case_id": str(case.id),
        "kind": "id-card",
        "state": case.state.value,
        "steps": steps,
        # who acts next on the case and by when (None: nobody, the case is over)
        "next": next((s["next"] for s in steps if _acts(s["next"])), None),
    }
    if whole:
        view |= {
            "tracking_code": case.tracking_code,
            "applicant": {"name": case.name, "citizen_id_last4": case.citizen_id[-4:]},
            "reason": case.reason,
            "applying_division": case.applying_division,
            "hukou_division": case.hukou_division,
            "identity_check": case.identity.to_dict(),
        }
    view["card"] = card_whereabouts(by_service.get(PRODUCTION), by_service.get(DELIVERY))
    view["temporary_card"] = _temporary(case, by_service.get(TEMPORARY))
    return view


def _office_sees(principal: Principal, request: ServiceRequest) -> bool:
    return principal.role == "office" and office_may_see(principal, request)


def card_whereabouts(
    production: ServiceRequest | None, delivery: ServiceRequest | None
) -> dict[str, Any]:
    """Where the card is: being decided at the hukou place, produced, in transit to the
    window, arrived there, collected (or refused)."""
    where, since = "not-planned", None
    if production is not None:
        where = {
            RequestState.REJECTED: "refused",
            RequestState.APPROVED: "produced",
        }.get(production.state, "being-decided")
    if delivery is not None and production is not None and where == "produced":
        if delivery.state == RequestState.DISPATCHED:
            where, since = (
                ("overdue-in-transit" if _late(delivery) else "in-transit"),
                delivery.arrived,
            )
        elif delivery.state in (RequestState.RECEIVED, RequestState.SUPPLEMENT_REQUESTED):
            where = "arrived"
        elif delivery.state == RequestState.APPROVED:
            where = "collected"
    found: dict[str, Any] = {"where": where}
    if since is not None:
        found["sent_on"] = since
    if production is not None:
        found["made_by"] = {
            "authority": production.authority,
            "locality": production.handling_locality,
        }
    if delivery is not None:
        found["collect_at"] = {
            "authority": delivery.authority,
            "locality": delivery.handling_locality,
        }
    return found


def _temporary(case: IdCardCase, request: ServiceRequest | None) -> dict[str, Any] | None:
    if not case.temporary:
        return None
    if request is None:
        return {"asked": True, "state": "planned", "issued": False}
    return {
        "asked": True,
        "state": request.state.value,
        "issued": request.state == RequestState.APPROVED,
    }


def _acts(step: dict[str, Any] | None) -> bool:
    """A step somebody takes (not the ledger's own, waiting on another step)."""
    return step is not None and step["party"] != "ledger"


def _step(
    principal: Principal,
    request: ServiceRequest,
    whole: bool,
    case: IdCardCase,
    latest: dict[str, ServiceRequest],
) -> dict[str, Any]:
    definition = service_definition(request.service)
    step: dict[str, Any] = {
        "service": request.service,
        "service_request_id": str(request.id),
        "name_zh": definition.name_zh,
        "name_en": definition.name_en,
        "state": request.state.value,
        "mode": request.route.mode,
        "handling": {"authority": request.authority, "locality": request.handling_locality},
        "receiving": {"authority": request.authority, "locality": request.receiving_locality},
        "time_limit_days": definition.time_limit_days,
        "dispatched_on": request.arrived if request.state != RequestState.PLANNED else None,
        "receipt_number": request.receipt_number,
        "due": request.due,
        "next": _next(principal, request, case, latest),
    }
    if request.result is not None:
        step["result"] = request.result.to_dict()
    if not whole:  # an office: the fields its step was dispatched, nothing else
        step["fields"] = request.payload.to_dict()
    return step


def _next(
    principal: Principal,
    request: ServiceRequest,
    case: IdCardCase,
    latest: dict[str, ServiceRequest],
) -> dict[str, Any] | None:
    """Who acts next on the step, what and by when (None: the step is over, or the case is
    closed or completed). `latest`: each service's latest attempt."""
    if not case.is_open:
        return None
    state = request.state
    if request.service == DELIVERY and state == RequestState.DISPATCHED and _late(request):
        return _lost(principal, request, latest.get(PRODUCTION))
    found = _NEXT.get(request.service, {}).get(state)
    if found is not None:
        side, action = found
        place = request.receiving_locality if side == "receiving" else request.handling_locality
        return _office(principal, request.authority, place, action, request.due)
    if state == RequestState.SUPPLEMENT_REQUESTED:
        return {"party": "applicant", "action": "bring what the notice names", "due": request.due}
    if state == RequestState.REJECTED and request.resubmitted_as is None:
        rejection = request.rejection
        due = rejection.family_due if rejection else None
        return {"party": "applicant", "action": "resubmit or close the case", "due": due}
    if state == RequestState.BLOCKED:
        return _blocked(request, latest.get(request.blocking_service or ""))
    if state == RequestState.PLANNED:
        party = "routing-desk" if request.route.manual_routing else "ledger"
        action = "route and dispatch" if party == "routing-desk" else "waits for the card"
        return {"party": party, "action": action, "due": None}
    return None


def _office(
    principal: Principal, authority: str, place: str, action: str, due: str | None
) -> dict[str, Any]:
    you = principal.role == "office" and principal.scope == place
    return {
        "party": "office",
        "authority": authority,
        "locality": place,
        "action": action,
        "due": due,
        "you": you,
    }


def _blocked(request: ServiceRequest, blocker: ServiceRequest | None) -> dict[str, Any]:
    """A step held behind a refused one: the applicant acts on the refusal (resubmit or
    close), or, once resubmitted, the step waits for the new attempt."""
    if blocker is not None and blocker.state != RequestState.REJECTED:
        return {
            "party": "ledger",
            "action": f"waits for the resubmitted {blocker.service} (attempt {blocker.attempt})",
            "due": None,
        }
    rejection = blocker.rejection if blocker is not None else None
    return {
        "party": "applicant",
        "action": f"resubmit the refused {request.blocking_service} or close the case",
        "due": rejection.family_due if rejection is not None else None,
    }


def _late(delivery: ServiceRequest) -> bool:
    """Past the arrival limit: the deadline job recorded the card's delivery overdue."""
    return delivery.due is not None and f"overdue:{delivery.due}" in delivery.warned


def _lost(
    principal: Principal, delivery: ServiceRequest, production: ServiceRequest | None
) -> dict[str, Any]:
    """A card past its arrival limit: the window cannot record an arrival that did not
    happen. It reports the card missing to the hukou office that made it, which traces it or
    makes it again (补制) and sends it; the window records the arrival when a card comes."""
    hukou = production.handling_locality if production is not None else None
    step = _office(
        principal,
        delivery.authority,
        delivery.receiving_locality,
        f"report the card missing to the hukou office ({hukou}): it traces the card or makes "
        "it again and sends it; record the arrival when a card comes",
        None,
    )
    step["late_since"] = delivery.due
    step["chase"] = {"authority": delivery.authority, "locality": hukou}
    return step
