"""Routing: which locality handles and which receives each service, in which mode (pure rules)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from operator import attrgetter
from typing import Any

from domain.kernel.alliance import Agreement, Alliance, city_of
from domain.kernel.catalog import Catalog, ServiceDefinition
from domain.kernel.identifiers import province_of
from domain.kernel.national_list import Listed, NationalList

# Preferred modes when the family and the handling office are in the same province: nearest
# first. A cross-province service has no preference list: its agreement decides (see _route).
_PREFERENCES = {
    "same county": ("online", "joint"),
    "same city": ("joint", "online"),
    "same province": ("joint", "online"),
}


@dataclass(frozen=True)
class Places:
    """Where a case stands, as routing needs it: the county each handling rule of the wing's
    catalog names (None: not known, and a service handled there is not planned), where the
    family lives (services are received there), and the rules whose place the family is at
    when it applies (such a service is received at that place instead). The wing builds it
    from values it has validated (births: domain/births/planning.py's RoutingInputs)."""

    home: str
    at: tuple[tuple[str, str | None], ...]
    on_site: frozenset[str] = frozenset()
    # what the wing knows of the case that picks a national list entry (its `when`)
    conditions: frozenset[str] = frozenset()

    def of(self, rule: str) -> str | None:
        """The county the handling rule names (KeyError: the wing gave no such rule)."""
        return dict(self.at)[rule]

    def family_place(self, rule: str) -> str:
        """Where the family stands for a service handled by `rule`."""
        place = self.of(rule) if rule in self.on_site else None
        return place or self.home


@dataclass(frozen=True)
class PlannedService:
    """One service of a plan. `mode` is None exactly when `manual_routing` is True."""

    service: str
    authority: str
    handling_locality: str
    receiving_locality: str
    mode: str | None
    depends_on: tuple[str, ...]
    time_limit_days: int
    manual_routing: bool
    route_note: str

    def to_dict(self) -> dict[str, Any]:
        """What `dataclasses.asdict` gives (fields in order), with the dependencies as a list,
        built directly (asdict deep-copies: ~10 µs, on every stored route)."""
        data = dict(zip(_PLANNED_FIELDS, _planned_of(self), strict=True))
        data["depends_on"] = list(self.depends_on)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PlannedService:
        return cls(**{**data, "depends_on": tuple(data["depends_on"])})


_PLANNED_FIELDS = tuple(f.name for f in fields(PlannedService))
_planned_of = attrgetter(*_PLANNED_FIELDS)


@dataclass(frozen=True)
class Route:
    """A request's route: its planned service and the reference data versions it was planned
    with (for replays)."""

    planned: PlannedService
    catalog_version: str
    alliance_version: str
    national_list_version: str | None = None  # None: planned before the national list

    @property
    def service(self) -> str:
        return self.planned.service

    @property
    def authority(self) -> str:
        return self.planned.authority

    @property
    def handling_locality(self) -> str:
        return self.planned.handling_locality

    @property
    def receiving_locality(self) -> str:
        return self.planned.receiving_locality

    @property
    def mode(self) -> str | None:
        return self.planned.mode

    @property
    def manual_routing(self) -> bool:
        return self.planned.manual_routing

    @property
    def by_desk(self) -> bool:
        """Routed by a coordinator of the routing desk (its note says so)."""
        return self.planned.route_note.startswith(DESK_NOTE)

    def to_dict(self) -> dict[str, Any]:
        """The planned service's fields, then the versions (what version 1 of Planned stored;
        the national list's version only once there is one)."""
        data = {
            **self.planned.to_dict(),
            "catalog_version": self.catalog_version,
            "alliance_version": self.alliance_version,
        }
        if self.national_list_version is not None:
            data["national_list_version"] = self.national_list_version
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Route:
        planned = PlannedService(
            service=data["service"],
            authority=data["authority"],
            handling_locality=data["handling_locality"],
            receiving_locality=data["receiving_locality"],
            mode=data["mode"],
            depends_on=tuple(data["depends_on"]),
            time_limit_days=data["time_limit_days"],
            manual_routing=data["manual_routing"],
            route_note=data["route_note"],
        )
        return cls(
            planned,
            data["catalog_version"],
            data["alliance_version"],
            data.get("national_list_version"),
        )


@dataclass(frozen=True)
class Plan:
    """Every service a case needs, in dependency order, with the reference data versions used."""

    catalog_version: str
    alliance_version: str
    services: tuple[PlannedService, ...]
    national_list_version: str | None = None  # None: drawn before the national list

    def service(self, code: str) -> PlannedService | None:
        return next((s for s in self.services if s.service == code), None)

    def with_services(self, services: tuple[PlannedService, ...]) -> Plan:
        """The same reference data versions, other services."""
        return Plan(
            self.catalog_version, self.alliance_version, services, self.national_list_version
        )

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "catalog_version": self.catalog_version,
            "alliance_version": self.alliance_version,
            "services": [s.to_dict() for s in self.services],
        }
        if self.national_list_version is not None:
            data["national_list_version"] = self.national_list_version
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Plan:
        services = tuple(PlannedService.from_dict(s) for s in data["services"])
        return cls(
            data["catalog_version"],
            data["alliance_version"],
            services,
            data.get("national_list_version"),
        )


def plan_services(
    places: Places, catalog: Catalog, alliance: Alliance, national: NationalList | None = None
) -> Plan:
    """Plan every catalog service, in the catalog's dependency order.

    An optional service is planned only when its handling locality is known (a place the
    case may never name, e.g. an insured place nobody has given). Dependencies on unplanned
    services are dropped (the catalog guarantees only optional services can be unplanned,
    and nothing required waits for them). Same places and data versions, identical plan.
    """
    planned: list[PlannedService] = []
    for service in catalog.services:
        handling = places.of(service.handling_rule)
        if handling is None:
            continue
        codes = {p.service for p in planned}
        depends_on = tuple(d for d in service.depends_on if d in codes)
        family = places.family_place(service.handling_rule)
        listed = national.listed(service.code, places.conditions) if national else None
        planned.append(_route(service, handling, family, alliance, listed, depends_on))
    version = national.version if national is not None else None
    return Plan(catalog.version, alliance.version, tuple(planned), version)


def relation(a: str, b: str) -> str:
    """'same county', 'same city', 'same province' or 'cross-province' (cities per city_of)."""
    if a == b:
        return "same county"
    if city_of(a) == city_of(b):
        return "same city"
    return "same province" if province_of(a) == province_of(b) else "cross-province"


def _route(
    service: ServiceDefinition,
    handling: str,
    family: str,
    alliance: Alliance,
    listed: Listed | None,
    depends_on: tuple[str, ...],
) -> PlannedService:
    """Receiving locality and mode for one service.

    Mode: same county → online (else joint); same city or province → joint (else online);
    cross-province → the alliance agreement's mode, else the national list's, else online
    at the handling locality; when no mode fits → manual routing (the routing desk).
    Receiving: online (全程网办) is received by the handling office itself; otherwise the
    family's place when an agreement or the national list covers the pair, or while no mode
    fits (the desk then chooses how it is received there or elsewhere), else the handling
    locality.
    """
    agreement = alliance.agreement_for(family, handling, service.code)
    where = relation(family, handling)
    if service.any_window and where in ("same city", "same province"):
        return _any_window(service, handling, family, where, depends_on)
    if agreement is not None or where != "cross-province":
        listed = None  # the national list fills the gaps the alliance leaves across provinces
    outside = listed is not None and not listed.covers(family, handling)
    if outside:
        listed = None  # a pilot's entry: one of the two provinces is not in it
    mode = _mode(service, where, agreement, listed)
    covered = agreement is not None or listed is not None
    return PlannedService(
        service=service.code,
        authority=service.authority,
        handling_locality=handling,
        receiving_locality=family if (covered or mode is None) and mode != "online" else handling,
        mode=mode,
        depends_on=depends_on,
        time_limit_days=service.time_limit_days,
        manual_routing=mode is None,
        route_note=_note(service, family, handling, where, mode, agreement, listed, outside),
    )


def _any_window(
    service: ServiceDefinition, handling: str, family: str, where: str, depends_on: tuple[str, ...]
) -> PlannedService:
    """A service any office of its authority receives where the applicant applies: off-site
    within the city and the province (received there, decided at the handling locality), or
    the nearest mode the catalog allows when it does not allow off-site."""
    mode = "off-site" if service.allows("off-site") else _mode(service, where, None, None)
    return PlannedService(
        service=service.code,
        authority=service.authority,
        handling_locality=handling,
        receiving_locality=family if mode == "off-site" else handling,
        mode=mode,
        depends_on=depends_on,
        time_limit_days=service.time_limit_days,
        manual_routing=mode is None,
        route_note=f"{where}: any {service.authority} window receives {service.code} where the "
        f"applicant applies ({family}); {handling} decides",
    )


def _mode(
    service: ServiceDefinition, where: str, agreement: Agreement | None, listed: Listed | None
) -> str | None:
    """The first preferred mode the service allows; None when none does (manual routing)."""
    wanted: tuple[str, ...]
    if where == "cross-province":
        chosen = agreement or listed
        wanted = (chosen.mode,) if chosen else ("online",)
    else:
        wanted = _PREFERENCES[where]
    return next((m for m in wanted if service.allows(m)), None)


def _note(
    service: ServiceDefinition,
    family: str,
    handling: str,
    where: str,
    mode: str | None,
    agreement: Agreement | None,
    listed: Listed | None,
    outside: bool = False,
) -> str:
    """A one-line explanation of the route, for the office queue and the monitor."""
    places = f"{where} ({family} → {handling})"
    if mode is None and outside:
        return (
            f"{places}: no alliance agreement, and the national 跨省通办 list takes "
            f"{service.code} only between its pilot provinces; manual routing needed"
        )
    if mode is None and where == "cross-province":
        return (
            f"{places}: no alliance agreement, not on the national list and no online "
            "handling; manual routing needed"
        )
    if mode is None:
        return f"{places}: no mode of {service.code} fits; manual routing needed"
    under = (
        f" under '{agreement.name}'"
        if agreement
        else (f" under the national 跨省通办 list ({listed.item})" if listed else "")
    )
    if mode == "online":
        return f"{places}: online, received by the handling office{under}"
    if agreement is None and listed is None:
        return f"{places}: {mode}, received at the handling locality"
    return f"{places}: {mode}, received at {family}{under}"


DESK_NOTE = "routed by the routing desk"
