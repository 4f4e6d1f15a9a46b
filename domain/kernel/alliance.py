"""The alliance: member cities and the agreements that let one city receive for another."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from stdnum import numdb

from domain.kernel.catalog import MODES, Catalog, Entry

ALL_MEMBERS = "*"
_CITY = re.compile(r"^[1-8]\d[0-9]{2}00$", re.ASCII)
_COUNTY = re.compile(r"^[1-8]\d{5}$", re.ASCII)
_RANGE_END = re.compile(r"\[\d{0,4}-(\d{0,4})\]", re.ASCII)
# Municipalities' former county groups were merged into their district groups (Shanghai 2016,
# Beijing 2015, Tianjin 2016); Chongqing still has both 500100 (districts) and 500200 (counties).
_MERGED_GROUPS = {"110200": "110100", "120200": "120100", "310200": "310100"}

Key = tuple[str, str, str]


def city_of(division: str) -> str:
    """The city (prefecture, or a municipality's district/county group) of a division code.

    First 4 digits + "00": 430602 → 430600, 310116 → 310100, 500241 → 500200; a retired
    municipal county (e.g. Chongming's 310230) maps to its municipality's district group.
    """
    city = division[:4] + "00"
    return _MERGED_GROUPS.get(city, city)


def known_city(code: str) -> bool:
    """True when python-stdnum's GB/T 2260 table has `code` as a current prefecture-level unit."""
    if not _CITY.match(code) or code.endswith("0000"):
        return False
    return _current(code)


def known_county(code: str) -> bool:
    """True when python-stdnum's GB/T 2260 table has `code` as a current county-level unit."""
    if not _COUNTY.match(code) or code.endswith("00"):
        return False
    return _current(code)


def _current(code: str) -> bool:
    info = numdb.get("cn/loc").info(code)
    label = info[1][1].get("county") if len(info) > 1 else None
    if not isinstance(label, str):
        return False
    ends = _RANGE_END.findall(label)
    return not ends or not all(ends)  # retired when every name range has an end year


@dataclass(frozen=True)
class Member:
    """A member city of the alliance."""

    code: str
    name: str

    @property
    def province(self) -> str:
        return self.code[:2]


@dataclass(frozen=True)
class Agreement:
    """`receiving` city may accept applications for `service` that `handling` city decides."""

    receiving: str
    handling: str
    service: str
    mode: str
    name: str
    basis: str


@dataclass(frozen=True)
class Alliance:
    """A versioned, validated alliance: members and agreements indexed by (receiving, handling,
    service) at city level, or at county level for a rule that names counties of member
    cities (a local agreement, such as Jinshan-Haiyan-Pinghu's): a county pair's agreement
    comes before its cities'."""

    version: str
    name: str
    hub: str
    members: tuple[Member, ...]
    index: Mapping[Key, Agreement]
    rule_count: int

    @classmethod
    def from_dict(cls, data: object, catalog: Catalog, source: str = "alliance.json") -> Alliance:
        """Validate a parsed alliance file against the catalog and build it, or raise."""
        root = Entry(data, source, "top level")
        members = _members(root)
        codes = tuple(m.code for m in members)
        hub = root.text("hub")
        if hub not in codes:
            raise root.fail(f"hub {hub!r} is not a member")
        rules = root.entries("agreements", "agreement")
        index: dict[Key, Agreement] = {}
        for rule in rules:
            _add_rule(index, rule, codes, catalog)
        version, name = root.text("version"), root.text("name")
        return cls(version, name, hub, members, MappingProxyType(index), len(rules))

    @property
    def agreements(self) -> tuple[Agreement, ...]:
        """Every expanded agreement, sorted by (receiving, handling, service)."""
        return tuple(self.index[key] for key in sorted(self.index))

    @property
    def provinces(self) -> frozenset[str]:
        return frozenset(m.province for m in self.members)

    def is_member(self, division: str) -> bool:
        return any(m.code == city_of(division) for m in self.members)

    def agreement_for(
        self, receiving_division: str, handling_division: str, service: str
    ) -> Agreement | None:
        """The agreement letting the receiving county accept for the handling county: theirs,
        else their cities' (None when there is none, including when both counties are in the
        same city)."""
        local = self.index.get((receiving_division, handling_division, service))
        if local is not None:
            return local
        return self.index.get((city_of(receiving_division), city_of(handling_division), service))


def _members(root: Entry) -> tuple[Member, ...]:
    members: list[Member] = []
    for entry in root.entries("members", "member"):
        code = entry.text("code")
        entry.where = f"member {code!r}"
        if not known_city(code):
            raise entry.fail("not a current prefecture-level code in python-stdnum's table")
        if any(m.code == code for m in members):
            raise entry.fail("duplicate member code")
        members.append(Member(code, entry.text("name")))
    return tuple(members)


def _select(rule: Entry, key: str, codes: tuple[str, ...]) -> list[str]:
    """'*' = every member, a 2-digit code = the members in that province, a member's code =
    that member, a current county of a member city = that county only."""
    selected: list[str] = []
    for token in rule.texts(key, allow_empty=False):
        if token == ALL_MEMBERS:
            chosen = list(codes)
        elif len(token) == 2:
            chosen = [c for c in codes if c.startswith(token)]
        elif token in codes or (city_of(token) in codes and known_county(token)):
            chosen = [token]
        else:
            chosen = []
        if not chosen:
            raise rule.fail(f"'{key}' entry {token!r} matches no member city")
        selected += [c for c in chosen if c not in selected]
    return selected


def _add_rule(
    index: dict[Key, Agreement], rule: Entry, codes: tuple[str, ...], cat: Catalog
) -> None:
    rule.where = f"agreement {rule.text('name')!r}"
    services, mode = _services(rule, cat), rule.text("mode")
    pairs = [
        (r, h) for r in _select(rule, "receiving", codes) for h in _select(rule, "handling", codes)
    ]
    if rule.flag("mutual"):
        pairs += [(h, r) for r, h in pairs]
    for (receiving, handling), service in ((p, s) for p in pairs for s in services):
        if city_of(receiving) != city_of(handling):  # never within one city
            agreement = Agreement(
                receiving, handling, service, mode, rule.text("name"), rule.text("basis")
            )
            _put(index, agreement, rule)


def _services(rule: Entry, catalog: Catalog) -> tuple[str, ...]:
    """The rule's services: each must be in the catalog and allow the rule's mode."""
    services, mode = rule.texts("services", allow_empty=False), rule.text("mode")
    for service in services:
        if service not in catalog:
            raise rule.fail(f"unknown service code {service!r}")
        if mode not in MODES or not catalog[service].allows(mode):
            raise rule.fail(f"mode {mode!r} is not allowed for {service!r}")
    return services


def _put(index: dict[Key, Agreement], agreement: Agreement, rule: Entry) -> None:
    """The first rule covering a (receiving, handling, service) triple wins; a later rule may
    repeat it only with the same mode, so the outcome never depends on rule order."""
    key = (agreement.receiving, agreement.handling, agreement.service)
    earlier = index.setdefault(key, agreement)
    if earlier.mode != agreement.mode:
        raise rule.fail(f"{key} is already covered by {earlier.name!r} in mode {earlier.mode!r}")
