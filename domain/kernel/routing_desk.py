"""The routing desk: who routes a request no alliance agreement or national list entry
routes, by when, and which routes a coordinator may give (pure rules).

A request planned for manual routing waits at the desk of the province of its handling
locality (and on the national desk) for `NationalList.desk_days` working days from the day it
was parked (reference data with its basis: domain/kernel/reference/national_list.json).
A coordinator's route keeps the decision with the handling place's authority (domain ref
§2.1: decision power never moves): the handling locality stays in the city the service's
handling rule names, and the mode must be one the catalog allows for the service.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import date, datetime

from domain.kernel.calendar import DueDate, WorkingCalendar
from domain.kernel.catalog import ServiceDefinition
from domain.kernel.errors import InvalidRouteError
from domain.kernel.identifiers import county_code, province_of
from domain.kernel.routing import DESK_NOTE, Route, relation

NATIONAL = "national"


def desk_of(handling_locality: str) -> str:
    """The province desk a parked request waits at: its handling locality's province."""
    return province_of(handling_locality)


def desk_due(parked_on: date, desk_days: int) -> DueDate:
    """When a request parked on `parked_on` must be routed (working days, from the day after)."""
    return WorkingCalendar().add_working_days(parked_on, desk_days)


def parked_at(events: Iterable[object]) -> datetime | None:
    """When a request's events parked it at the desk: the first of the routes that needs
    manual routing since the last one that did not (None: not waiting for manual routing)."""
    since: datetime | None = None
    for event in events:
        route = getattr(event, "route", None)
        if isinstance(route, Route):
            timestamp = getattr(event, "timestamp")  # noqa: B009  (every event has one)
            since = (since or timestamp) if route.manual_routing else None
    return since


def on_desk(desk: str, scope: str) -> bool:
    """Whether a request at the province desk `desk` shows on the desk `scope` (the national
    desk shows every one)."""
    return scope in (NATIONAL, desk)


def desk_route(
    current: Route,
    definition: ServiceDefinition,
    handling_locality: str,
    receiving_locality: str,
    mode: str,
) -> Route:
    """The route a coordinator gives, checked against the reference data, or raise."""
    handling = county_code(handling_locality, field="handling_locality")
    receiving = county_code(receiving_locality, field="receiving_locality")
    planned = current.planned
    if handling != planned.handling_locality:
        raise InvalidRouteError(
            f"{definition.code} is decided where its handling rule ({definition.handling_rule}) "
            f"names: {planned.handling_locality}; the desk chooses where it is received and "
            "how, decision power does not move (domain reference §2.1)",
            field="handling_locality",
        )
    if not definition.allows(mode):
        raise InvalidRouteError(
            f"{definition.code} is handled {' or '.join(definition.modes)}, not {mode!r}",
            field="mode",
        )
    if mode == "online" and receiving != handling:
        raise InvalidRouteError(
            "An online request (全程网办) is received by its handling office itself",
            field="receiving_locality",
        )
    if mode == "off-site" and receiving == handling:
        raise InvalidRouteError(
            "Off-site handling (异地代收代办) is received elsewhere than it is decided",
            field="receiving_locality",
        )
    if mode == "remote-window" and receiving == handling:
        raise InvalidRouteError(
            "A remote virtual window (远程虚拟窗口) joins a window elsewhere than the deciding "
            "office",
            field="receiving_locality",
        )
    where = relation(receiving, handling)
    received = "by the handling office" if receiving == handling else f"at {receiving}"
    note = f"{DESK_NOTE}: {where} ({receiving} → {handling}), {mode}, received {received}"
    routed = replace(
        planned,
        handling_locality=handling,
        receiving_locality=receiving,
        mode=mode,
        manual_routing=False,
        route_note=note,
    )
    return replace(current, planned=routed)
