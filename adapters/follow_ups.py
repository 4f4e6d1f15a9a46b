"""The monitor's roll-ups and the bad ratings to call back, as the API asks for them.

A place is named by a level key: a province by 2 digits (`43`, or `430000`), a city by 4
(`4306`, or `430600`), a county by its 6-digit code. A bad rating's unit is an office (its
authority and handling locality); the office itself and a monitor whose scope covers the
locality may record the call-back.
"""

from __future__ import annotations

import re
from dataclasses import asdict
from typing import TYPE_CHECKING, Any
from uuid import UUID

from domain.kernel.access import OutOfScopeError, covers
from domain.kernel.actors import Principal
from domain.kernel.errors import CaseNotFoundError
from domain.kernel.rating import FollowUpNotFoundError, RecordCallBack
from projections.locality_stats import FollowUpRow
from projections.routing_desk import WAITING

if TYPE_CHECKING:
    from adapters.bootstrap import Container

PLACE = re.compile(r"^[1-8]\d(?:\d\d(?:\d\d)?)?$", re.ASCII)
LEVELS = {2: "province", 4: "city", 6: "county"}


def level_key(code: str) -> str | None:
    """The level key a code names (None: not a place code): `430000` → `43`, `430600` →
    `4306`, a county's code as it is; 2- and 4-digit keys as they are."""
    if not PLACE.match(code):
        return None
    if len(code) == 6 and code.endswith("0000"):
        return code[:2]
    if len(code) == 6 and code.endswith("00"):
        return code[:4]
    return code


def level_of(key: str) -> str:
    return LEVELS[len(key)]


def parked_within(container: Container, key: str) -> int:
    """Requests waiting at the routing desk whose handling locality is in the place."""
    view = container.projections.routing_desk_view
    if len(key) == 6:
        return view.waiting(handling_locality=key)
    if len(key) == 2:
        return view.waiting(desk=key)
    in_province = view.select(WAITING, {"desk": key[:2]})
    return sum(row.handling_locality.startswith(key) for row in in_province)


def place_follow_ups(container: Container, key: str, month: str) -> list[FollowUpRow]:
    """The month's bad ratings whose units are in the place."""
    return container.projections.locality_stats_view.follow_ups(key, month)


def unit_follow_ups(container: Container, locality: str, authority: str) -> list[FollowUpRow]:
    """Every bad rating one office answers for, due first."""
    return container.projections.locality_stats_view.unit_follow_ups(locality, authority)


def follow_up_items(container: Container, rows: list[FollowUpRow]) -> list[dict[str, Any]]:
    """The rows as work items, each with the family's comment read from its case (the
    caller audits these reads: the comment may hold personal data)."""
    return [asdict(row) | {"comment": _comment(container, row.case_id)} for row in rows]


def _comment(container: Container, case_id: str) -> str:
    try:
        return container.ledger.rating_comment(UUID(case_id))
    except CaseNotFoundError:
        return ""


def may_call_back(principal: Principal, locality: str, authority: str) -> bool:
    """The unit's own office, or a monitor (an admin) whose scope covers its locality."""
    if principal.role == "office":
        return principal.scope == locality and principal.authority == authority
    return principal.role in ("monitor", "admin") and covers(principal, locality)


def record_call_back(container: Container, principal: Principal, cmd: RecordCallBack) -> str:
    """The call-back on the case, if the caller may record it; answers when (ISO time)."""
    try:
        case = container.ledger.rated_case(cmd.case_id)
    except CaseNotFoundError:
        raise OutOfScopeError() from None
    unit = case.rated_unit
    if unit is None:  # a rating of version 1: the unit the projection found for it
        row = container.projections.locality_stats_view.follow_up(str(cmd.case_id))
        if row is None:
            raise OutOfScopeError()
        place = (row.locality, row.authority)
    else:
        place = (unit.locality, unit.authority)
    if not may_call_back(principal, *place):
        raise OutOfScopeError()
    if case.rating is None:
        raise FollowUpNotFoundError("This case has no bad rating to call back")
    return container.ledger.call_back(cmd).isoformat()
