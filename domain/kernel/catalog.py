"""The service catalog: each service's authority, handling rule, inputs, DAG, time limit, modes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from importlib.resources import files

from domain.kernel.errors import ReferenceDataError

# online: 全程网办; off-site: 异地代收代办 (received here, decided there); joint: 多地联办;
# remote-window: 远程虚拟窗口, received here with the handling office on a shared screen
# (domain/kernel/remote_window.py; seed: the Jinshan-Haiyan-Pinghu agreement of 2023-09-22)
MODES = ("online", "off-site", "joint", "remote-window")
AUTHORITIES = (
    "health",
    "cdc",
    "public-security",
    "medical-insurance",
    "hrss",
    "civil-affairs",
)


@dataclass(frozen=True)
class Vocabulary:
    """What a wing's catalog may name: the places its handling rules pick (each rule names one
    place of the case, see domain/kernel/routing.py) and the case fields a service may see."""

    handling_rules: tuple[str, ...]
    fields: frozenset[str]


def read_reference(package: str, filename: str) -> object:
    """Parse one JSON file shipped in `<package>/reference/` (package data, read-only)."""
    resource = files(package).joinpath("reference", filename)
    try:
        return json.loads(resource.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ReferenceDataError(f"{filename}: cannot be read: {exc}", file=filename) from None


class Entry:
    """One JSON object of a reference file, read field by field with errors that name it."""

    def __init__(self, value: object, source: str, where: str) -> None:
        if not isinstance(value, dict):
            raise ReferenceDataError(f"{source}: {where} is not an object", file=source)
        self.value: dict[str, object] = value
        self.source, self.where = source, where

    def fail(self, problem: str) -> ReferenceDataError:
        return ReferenceDataError(
            f"{self.source}: {self.where}: {problem}", file=self.source, entry=self.where
        )

    def text(self, key: str) -> str:
        value = self.value.get(key)
        if not isinstance(value, str) or not value.strip():
            raise self.fail(f"'{key}' must be a non-empty string")
        return value

    def texts(self, key: str, *, allow_empty: bool = True) -> tuple[str, ...]:
        value = self.value.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise self.fail(f"'{key}' must be a list of strings")
        if len(set(value)) != len(value) or (not value and not allow_empty):
            raise self.fail(f"'{key}' must be non-empty and free of duplicates")
        return tuple(value)

    def integer(self, key: str) -> int:
        value = self.value.get(key)
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise self.fail(f"'{key}' must be a positive integer")
        return value

    def flag(self, key: str) -> bool:
        value = self.value.get(key, False)
        if not isinstance(value, bool):
            raise self.fail(f"'{key}' must be true or false")
        return value

    def entries(self, key: str, label: str) -> list[Entry]:
        items = self.value.get(key)
        if not isinstance(items, list) or not items:
            raise self.fail(f"'{key}' must be a non-empty list")
        return [Entry(item, self.source, f"{label} #{n}") for n, item in enumerate(items, 1)]


@dataclass(frozen=True)
class ServiceDefinition:
    """One service of the bundle, as the catalog defines it (reference data, not code)."""

    code: str
    name_zh: str
    name_en: str
    authority: str
    result_field: str
    handling_rule: str
    inputs: tuple[str, ...]
    depends_on: tuple[str, ...]
    time_limit_days: int
    basis: str
    modes: tuple[str, ...]
    visible_fields: tuple[str, ...]
    optional: bool
    # the request's receipt is a thing arriving (a card in transit), not an application: the
    # receiving window's clock after dispatch is this many working days, and past it the
    # request is overdue (the transit is late), never deemed accepted (None: the window's
    # notice clock, NOTICE_DAYS, and deemed acceptance, Administrative Licensing Law Art. 32)
    arrival_limit_days: int | None = None
    # any office of the authority receives it where the applicant applies, in the city and
    # the province too (ID cards: any police window), not only across provinces where an
    # agreement or the national list says so
    any_window: bool = False

    def allows(self, mode: str) -> bool:
        return mode in self.modes


@dataclass(frozen=True)
class Catalog:
    """A versioned, validated catalog; `services` is in dependency order (file order on ties)."""

    version: str
    services: tuple[ServiceDefinition, ...]

    @classmethod
    def from_dict(
        cls, data: object, vocabulary: Vocabulary, source: str = "catalog.json"
    ) -> Catalog:
        """Validate a parsed catalog file and build it, or raise ReferenceDataError."""
        root = Entry(data, source, "top level")
        rules = vocabulary.handling_rules
        services = [_service(entry, rules) for entry in root.entries("services", "service")]
        _check_unique(services, source)
        _check_fields(services, source, vocabulary.fields)
        return cls(root.text("version"), _dependency_order(services, source))

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(s.code for s in self.services)

    def __getitem__(self, code: str) -> ServiceDefinition:
        for service in self.services:
            if service.code == code:
                return service
        raise KeyError(code)

    def __contains__(self, code: object) -> bool:
        return code in self.codes

    def __iter__(self) -> Iterator[ServiceDefinition]:
        return iter(self.services)

    def producer_of(self, result_field: str) -> str | None:
        """The service whose approval yields this result field (None when no service does)."""
        return next((s.code for s in self.services if s.result_field == result_field), None)

    def dependents(self, code: str) -> tuple[str, ...]:
        """Services that wait directly for `code`."""
        return tuple(s.code for s in self.services if code in s.depends_on)


def _service(entry: Entry, handling_rules: tuple[str, ...]) -> ServiceDefinition:
    entry.where = f"service '{entry.text('code')}'"
    service = ServiceDefinition(
        code=entry.text("code"),
        name_zh=entry.text("name_zh"),
        name_en=entry.text("name_en"),
        authority=_one_of(entry, "authority", AUTHORITIES),
        result_field=entry.text("result_field"),
        handling_rule=_one_of(entry, "handling_rule", handling_rules),
        inputs=entry.texts("inputs"),
        depends_on=entry.texts("depends_on"),
        time_limit_days=entry.integer("time_limit_days"),
        basis=entry.text("basis"),
        modes=entry.texts("modes", allow_empty=False),
        visible_fields=entry.texts("visible_fields", allow_empty=False),
        optional=entry.flag("optional"),
        arrival_limit_days=entry.integer("arrival_limit_days")
        if "arrival_limit_days" in entry.value
        else None,
        any_window=entry.flag("any_window"),
    )
    if unknown := [m for m in service.modes if m not in MODES]:
        raise entry.fail(f"unknown mode {unknown[0]!r} (allowed: {', '.join(MODES)})")
    return service


def _one_of(entry: Entry, key: str, allowed: tuple[str, ...]) -> str:
    value = entry.text(key)
    if value not in allowed:
        raise entry.fail(f"unknown {key} {value!r} (allowed: {', '.join(allowed)})")
    return value


def _fail(source: str, code: str, problem: str) -> ReferenceDataError:
    where = f"service '{code}'"
    return ReferenceDataError(f"{source}: {where}: {problem}", file=source, entry=where)


def _check_unique(services: list[ServiceDefinition], source: str) -> None:
    seen_codes: set[str] = set()
    seen_results: set[str] = set()
    for service in services:
        if service.code in seen_codes:
            raise _fail(source, service.code, "duplicate service code")
        if service.result_field in seen_results:
            raise _fail(source, service.code, f"duplicate result field {service.result_field!r}")
        seen_codes.add(service.code)
        seen_results.add(service.result_field)


def _check_fields(
    services: list[ServiceDefinition], source: str, case_fields: frozenset[str]
) -> None:
    by_code = {s.code: s for s in services}
    known = case_fields | {s.result_field for s in services}
    for service in services:
        if unknown := [c for c in service.depends_on if c not in by_code]:
            raise _fail(source, service.code, f"depends on unknown service {unknown[0]!r}")
        if unknown := [f for f in service.visible_fields if f not in known]:
            raise _fail(source, service.code, f"unknown visible field {unknown[0]!r}")
        if hidden := [f for f in service.inputs if f not in service.visible_fields]:
            raise _fail(source, service.code, f"input {hidden[0]!r} is not a visible field")
        if not service.optional and any(by_code[c].optional for c in service.depends_on):
            raise _fail(source, service.code, "a required service depends on an optional one")


def _dependency_order(
    services: list[ServiceDefinition], source: str
) -> tuple[ServiceDefinition, ...]:
    """Kahn's algorithm, taking services in file order; a leftover service sits on a cycle."""
    ordered: list[ServiceDefinition] = []
    pending = list(services)
    while pending:
        done = {s.code for s in ordered}
        ready = next((s for s in pending if set(s.depends_on) <= done), None)
        if ready is None:
            raise _fail(source, pending[0].code, "depends_on has a cycle")
        ordered.append(ready)
        pending.remove(ready)
    _check_inputs(ordered, source)
    return tuple(ordered)


def _check_inputs(ordered: list[ServiceDefinition], source: str) -> None:
    """Each input must be the result of a service this one waits for, directly or not."""
    upstream: dict[str, set[str]] = {}
    for service in ordered:
        reach = set(service.depends_on).union(*(upstream[c] for c in service.depends_on))
        upstream[service.code] = reach
        produced = {s.result_field for s in ordered if s.code in reach}
        if missing := [f for f in service.inputs if f not in produced]:
            raise _fail(source, service.code, f"input {missing[0]!r} comes from no dependency")
