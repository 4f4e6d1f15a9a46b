"""The case as the answer of a kernel action any wing's case takes (the family's close): the
wing's own view of it, so the action never answers 404 after committing."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID

from adapters.bootstrap import Container
from adapters.case_reads import load_view
from adapters.id_cards import id_card_view
from adapters.marriage import marriage_case
from domain.births.birth_case import BirthCase
from domain.idcards.case import IdCardCase
from domain.kernel.actors import Principal
from domain.marriage.case import MarriageCase
from domain.wings import wings

View = Callable[[Container, Principal, UUID], dict[str, Any]]
_VIEWS: dict[type, View] = {
    MarriageCase: marriage_case,
    IdCardCase: id_card_view,
}


def case_answer(container: Container, principal: Principal, case_id: UUID) -> dict[str, Any]:
    """The case as its wing shows it to the caller: births' case view, the marriage and ID
    card wings' own views, and for a wing without a view here the kernel's minimum (id, kind
    and state)."""
    case = container.ledger.kernel_case(case_id)
    if isinstance(case, BirthCase):
        return load_view(container.ledger, principal, case_id)
    view = _VIEWS.get(type(case))
    if view is not None:
        return view(container, principal, case_id)
    kind = next((w.kind for w in wings() if w.case is type(case)), None)
    state = getattr(case, "state", None)
    return {"case_id": str(case_id), "kind": kind, "state": None if state is None else str(state)}
