"""The national 跨省通办 list: services any receiving place takes for any handling place.

Reference data with its source (`domain/kernel/reference/national_list.json`): where no
alliance agreement covers a cross-province pair, a service on the list is received at the
family's place in the list's mode (domain/kernel/routing.py). An entry applies nationwide
unless it names `provinces` (2-digit GB/T 2260 prefixes): then only between them, the
receiving and the handling province both in it (a pilot, such as cross-province marriage
registration in 21 provinces since 2023-06-01). An entry with `when` applies only to a case
whose wing names that condition (`Places.conditions`, e.g. marriage's
"registered-at-hukou-place": registering at a party's hukou place is nationwide, the pilot
concerns the residence permit's place); a service may then have one entry per condition and
one without `when`, which applies otherwise. The file also holds the routing desk's time
limit, for the requests neither routes (domain/kernel/routing_desk.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from domain.kernel.catalog import MODES, Catalog, Entry
from domain.kernel.errors import InvalidIdentifierError
from domain.kernel.identifiers import division_code, province_of


@dataclass(frozen=True)
class Listed:
    """One service on the list: the mode it is handled in across provinces, and why;
    `provinces`: the only provinces it applies between (None: nationwide)."""

    service: str
    item: str
    mode: str
    basis: str
    provinces: frozenset[str] | None = None
    when: str | None = None  # the case condition it applies under (None: otherwise)

    def covers(self, receiving: str, handling: str) -> bool:
        """Whether the entry applies to a request received in `receiving`'s province and
        handled in `handling`'s (a restricted entry: both provinces are in it)."""
        if self.provinces is None:
            return True
        return {province_of(receiving), province_of(handling)} <= self.provinces


@dataclass(frozen=True, eq=False)  # compared and hashed as itself (a cache key)
class NationalList:
    """A versioned, validated national list, and the routing desk's limit in working days."""

    version: str
    source: str
    entries: Mapping[str, Listed]  # each service's entry without a condition
    desk_days: int
    desk_basis: str
    # (service, when) → the entry applying under that case condition
    conditional: Mapping[tuple[str, str], Listed] = field(
        default_factory=lambda: MappingProxyType({})
    )

    @classmethod
    def from_dict(
        cls, data: object, catalog: Catalog, source: str = "national_list.json"
    ) -> NationalList:
        """Validate a parsed list file against the catalog and build it, or raise."""
        root = Entry(data, source, "top level")
        entries: dict[str, Listed] = {}
        conditional: dict[tuple[str, str], Listed] = {}
        for entry in root.entries("services", "service"):
            code = entry.text("service")
            when = entry.text("when") if "when" in entry.value else None
            entry.where = f"service {code!r}" + (f" when {when!r}" if when else "")
            mode = entry.text("mode")
            if code not in catalog:
                raise entry.fail("unknown service code")
            if code in entries if when is None else (code, when) in conditional:
                raise entry.fail("listed twice")
            if mode not in MODES or not catalog[code].allows(mode):
                raise entry.fail(f"mode {mode!r} is not allowed for {code!r}")
            provinces = _provinces(entry) if "provinces" in entry.value else None
            listed = Listed(code, entry.text("item"), mode, entry.text("basis"), provinces, when)
            if when is None:
                entries[code] = listed
            else:
                conditional[code, when] = listed
        desk = Entry(root.value.get("routing_desk"), source, "routing_desk")
        return cls(
            root.text("version"),
            root.text("source"),
            MappingProxyType(entries),
            desk.integer("time_limit_days"),
            desk.text("basis"),
            MappingProxyType(conditional),
        )

    def listed(self, service: str, conditions: frozenset[str] = frozenset()) -> Listed | None:
        """The service's entry under the first of the case's `conditions` that has one, else
        its entry without a condition (None: not on the list)."""
        for when in sorted(conditions):
            if (found := self.conditional.get((service, when))) is not None:
                return found
        return self.entries.get(service)


def _provinces(entry: Entry) -> frozenset[str]:
    """An entry's `provinces`: a non-empty list of distinct 2-digit province prefixes of
    GB/T 2260 (ASCII digits), or raise naming the entry."""
    prefixes = entry.texts("provinces", allow_empty=False)
    for prefix in prefixes:
        try:
            if len(prefix) != 2:
                raise InvalidIdentifierError("not 2 digits")
            division_code(prefix + "0000", field="provinces")
        except InvalidIdentifierError:
            raise entry.fail(f"{prefix!r} in 'provinces' is not a province of GB/T 2260") from None
    return frozenset(prefixes)
