"""The materials model: each service's required materials (the materials list of its service
guide, one of a matter's "standard elements") and how each is satisfied: by data the ledger
shares, by an earlier result's e-certificate, or by the family. Reference data, checked
against the catalog; what one request needed, and what its family supplied, is derived here
from the request's route, its dispatched data and the family's answers (no personal data:
field names, never values)."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from domain.kernel.catalog import Catalog, Entry
from domain.kernel.errors import ReferenceDataError

SHARED, CERTIFICATE, FAMILY = "shared", "certificate", "family"
SATISFIED_BY = (SHARED, CERTIFICATE, FAMILY)
APPLICATION, DOCUMENT = "application", "document"  # how a family supplies a material
CROSS_PROVINCE = "cross-province"  # a material required only across provinces
CONDITIONS = (CROSS_PROVINCE,)


@dataclass(frozen=True)
class Material:
    """One required material of a service, and how it is satisfied: `source` is a case field
    (shared), the service whose result's e-certificate satisfies it (certificate), or
    "application" / "document" (family; `field`: the application's answer)."""

    code: str
    name_zh: str
    name: str
    satisfied_by: str
    source: str
    field: str | None = None
    when: str | None = None
    note: str | None = None

    @property
    def by_sharing(self) -> bool:
        return self.satisfied_by in (SHARED, CERTIFICATE)

    def required(self, receiving: str, handling: str) -> bool:
        """Required for a request received at `receiving` and handled at `handling`."""
        if self.when == CROSS_PROVINCE:
            return receiving[:2] != handling[:2]
        return True


@dataclass(frozen=True)
class ServiceMaterials:
    """A service's materials list and where the list comes from."""

    service: str
    source: str
    materials: tuple[Material, ...]

    def required(self, receiving: str, handling: str) -> tuple[Material, ...]:
        return tuple(m for m in self.materials if m.required(receiving, handling))


@dataclass(frozen=True)
class Tally:
    """A request's listed materials counted: required = shared + certificate + family;
    `in_application`: the family's of them answered in its one application."""

    required: int = 0
    shared: int = 0
    certificate: int = 0
    family: int = 0
    in_application: int = 0


@dataclass(frozen=True)
class NoticeCount:
    """What one answered one-time notice asked for, counted: `asked`, its distinct items
    (those naming one listed material count once); `unlisted`, those of them that are not a
    material the request's list already requires (they add to its required materials and
    the family's; a listed one is counted where the list counts it)."""

    asked: int = 0
    unlisted: int = 0


_QUALIFIER = re.compile(r"\s*\([^()]*\)$")  # a trailing bracketed qualifier (after NFKC)


def _key(text: str) -> str:
    """An item or a name as compared: NFKC (full-width brackets and letters made plain),
    case-folded, without whitespace, hyphens or underscores ("Residence permit" is the code
    residence-permit)."""
    plain = unicodedata.normalize("NFKC", text).casefold()
    return "".join(plain.replace("-", " ").replace("_", " ").split())


def _names(material: Material) -> set[str]:
    """What an item may say to name `material`: its code, its Chinese or English name, each
    name also without a trailing bracketed qualifier, the English one also without "the"."""
    names = {material.code, material.name_zh, material.name}
    for name in (material.name_zh, material.name):
        plain = _QUALIFIER.sub("", unicodedata.normalize("NFKC", name).strip())
        names |= {plain, re.sub(r"^the\s+", "", plain, flags=re.IGNORECASE)}
    return {_key(n) for n in names if n.strip()}


@dataclass(frozen=True)
class MaterialsCatalog:
    """Every service's materials list, validated against the catalog."""

    version: str
    services: tuple[ServiceMaterials, ...]

    def of(self, service: str) -> ServiceMaterials | None:
        return next((s for s in self.services if s.service == service), None)

    def tally(self, service: str, receiving: str, handling: str) -> Tally:
        """The materials a request of `service` requires (none for a service not listed)."""
        found = self.of(service)
        required = found.required(receiving, handling) if found else ()
        kinds = [m.satisfied_by for m in required]
        return Tally(
            required=len(required),
            shared=kinds.count(SHARED),
            certificate=kinds.count(CERTIFICATE),
            family=kinds.count(FAMILY),
            in_application=sum(1 for m in required if m.source == APPLICATION),
        )

    def notice(
        self, service: str, receiving: str, handling: str, items: Iterable[str]
    ) -> NoticeCount:
        """An answered notice's `items` (the office's free text, SupplementRequested.items)
        counted: de-duplicated (compared case-, width- and whitespace-blind), and an item
        that names a material the request's list requires (its code, or a name: `_names`)
        is that material, counted once however many items name it and never again as
        required. Blank items are not counted."""
        found = self.of(service)
        required = found.required(receiving, handling) if found else ()
        by_name = {name: m.code for m in required for name in _names(m)}
        listed, unlisted = set[str](), set[str]()
        for item in items:
            if not (key := _key(item)):
                continue
            if key in by_name:
                listed.add(by_name[key])
            else:
                unlisted.add(key)
        return NoticeCount(asked=len(listed) + len(unlisted), unlisted=len(unlisted))

    @classmethod
    def from_dict(
        cls,
        data: object,
        catalog: Catalog,
        application_fields: frozenset[str],
        source: str = "materials.json",
    ) -> MaterialsCatalog:
        """Validate a parsed materials file against the catalog, or raise ReferenceDataError:
        each shared field is one the service is shown, each certificate an earlier result
        it is shown, each application answer a field of the family's application."""
        root = Entry(data, source, "top level")
        lists = [
            _service_materials(entry, catalog, application_fields)
            for entry in root.entries("services", "service")
        ]
        codes = [s.service for s in lists]
        if dupes := sorted({c for c in codes if codes.count(c) > 1}):
            raise ReferenceDataError(f"{source}: service {dupes[0]!r} is listed twice", file=source)
        if missing := [c for c in catalog.codes if c not in codes]:
            raise ReferenceDataError(f"{source}: service {missing[0]!r} has no list", file=source)
        return cls(root.text("version"), tuple(lists))


def _service_materials(
    entry: Entry, catalog: Catalog, application_fields: frozenset[str]
) -> ServiceMaterials:
    code = entry.text("service")
    entry.where = f"service '{code}'"
    if code not in catalog:
        raise entry.fail("not a service of the catalog")
    service = catalog[code]
    materials = []
    for item in entry.entries("materials", "material"):
        item.where = f"service '{code}': material '{item.text('code')}'"
        materials.append(_material(item, catalog, service.visible_fields, application_fields))
    seen = [m.code for m in materials]
    if len(set(seen)) != len(seen):
        raise entry.fail("duplicate material code")
    return ServiceMaterials(code, entry.text("source"), tuple(materials))


def _material(
    item: Entry, catalog: Catalog, visible: Sequence[str], application_fields: frozenset[str]
) -> Material:
    satisfied_by, source = item.text("satisfied_by"), item.text("from")
    if satisfied_by not in SATISFIED_BY:
        raise item.fail(f"unknown satisfied_by {satisfied_by!r} ({', '.join(SATISFIED_BY)})")
    field = item.value.get("field")
    when, note = item.value.get("when"), item.value.get("note")
    if when is not None and when not in CONDITIONS:
        raise item.fail(f"unknown when {when!r} (allowed: {', '.join(CONDITIONS)})")
    if note is not None and not (isinstance(note, str) and note.strip()):
        raise item.fail("'note' must be a non-empty string")
    if satisfied_by == SHARED and source not in visible:
        raise item.fail(f"shared field {source!r} is not shown to the service")
    if satisfied_by == CERTIFICATE:
        if source not in catalog:
            raise item.fail(f"certificate of unknown service {source!r}")
        if catalog[source].result_field not in visible:
            raise item.fail(f"the result of {source!r} is not shown to the service")
    if satisfied_by == FAMILY:
        if source not in (APPLICATION, DOCUMENT):
            raise item.fail("a family's material is from 'application' or 'document'")
        if (source == APPLICATION) != (field is not None):
            raise item.fail("'field' names the application's answer (and only for one)")
        if field is not None and field not in application_fields:
            raise item.fail(f"unknown application field {field!r}")
        if field is not None and field not in visible:
            raise item.fail(f"application field {field!r} is not shown to the service")
    elif field is not None:
        raise item.fail("'field' is only for a family's application answer")
    return Material(
        code=item.text("code"),
        name_zh=item.text("name_zh"),
        name=item.text("name"),
        satisfied_by=satisfied_by,
        source=source,
        field=str(field) if field is not None else None,
        when=str(when) if when is not None else None,
        note=str(note) if note is not None else None,
    )


def request_materials(
    catalog: Catalog,
    materials: MaterialsCatalog,
    request: Mapping[str, Any],
    dispatched: Mapping[str, Any],
    answers: Sequence[Mapping[str, Any]],
    notices: Sequence[Sequence[str]] = (),
) -> dict[str, Any]:
    """One request's materials as its office and its family see them: each required one, how
    it is satisfied and whether it is yet (a shared field or an e-certificate's result in the
    data dispatched to the office; an application answer given), and the items the family
    supplied in answer to one-time notices (with the evidence ids it cited). `request` holds
    the service and its receiving and handling localities; `dispatched` the data sent (only
    its keys are read); `answers` the family's answers (items, evidence); `notices` the items
    of each one-time notice given, in order (the n-th answer answers the n-th notice). The
    counts count what each answered notice asked for (`MaterialsCatalog.notice`), as the
    monitor's figure does (projections/locality_stats.py), not the family's free text. No
    values."""
    service = str(request["service"])
    found = materials.of(service)
    receiving, handling = str(request["receiving_locality"]), str(request["handling_locality"])
    required = found.required(receiving, handling) if found else ()
    sent = {key for key, value in dispatched.items() if value not in (None, "", [], {})}
    listed = [_listed(m, catalog, sent) for m in required]
    on_notice = [
        {"items": list(a.get("items", ())), "evidence": [dict(e) for e in a.get("evidence", ())]}
        for a in answers
    ]
    return {
        "source": found.source if found else None,
        "required": listed,
        "supplied_on_notice": on_notice,
        "counts": request_counts(materials, request, notices[: len(answers)]),
    }


def request_counts(
    materials: MaterialsCatalog, request: Mapping[str, Any], answered: Sequence[Sequence[str]]
) -> dict[str, int]:
    """One request's materials counted, as its office and its family both see them: its
    service's list where it is received and handled (`MaterialsCatalog.tally`), and what each
    one-time notice its family answered asked for (`answered`: each notice's items, in order;
    `MaterialsCatalog.notice`): the distinct items `on_notice`, those no listed material names
    also required and the family's. The monitor's figure counts alike
    (projections/locality_stats.py)."""
    service = str(request["service"])
    receiving, handling = str(request["receiving_locality"]), str(request["handling_locality"])
    counts = _counts(materials.tally(service, receiving, handling))
    asked = [materials.notice(service, receiving, handling, items) for items in answered]
    unlisted = sum(n.unlisted for n in asked)
    counts["required"] += unlisted
    counts["by_family"] += unlisted
    return counts | {"on_notice": sum(n.asked for n in asked)}


def _listed(material: Material, catalog: Catalog, sent: set[str]) -> dict[str, Any]:
    """A material as the office sees it: whether the data dispatched to it satisfies it (a
    document the family presents at the window: None, the ledger does not see it)."""
    entry = _shown(material, catalog)
    if material.satisfied_by == SHARED:
        entry["satisfied"] = material.source in sent
    elif material.satisfied_by == CERTIFICATE:
        entry["satisfied"] = catalog[material.source].result_field in sent
    elif material.source == APPLICATION:
        entry["satisfied"] = material.field in sent
    else:
        entry["satisfied"] = None
    return entry


def _shown(material: Material, catalog: Catalog) -> dict[str, Any]:
    """A material: its names, how it is satisfied and from what (a field, a service's
    result, the application's answer, or a document), its condition and note."""
    entry: dict[str, Any] = {
        "code": material.code,
        "name_zh": material.name_zh,
        "name": material.name,
        "satisfied_by": material.satisfied_by,
    }
    if material.satisfied_by == SHARED:
        entry["from"] = {"field": material.source}
    elif material.satisfied_by == CERTIFICATE:
        result_field = catalog[material.source].result_field
        entry["from"] = {"service": material.source, "result": result_field}
    elif material.source == APPLICATION:
        entry["from"] = {"application": material.field}
    else:
        entry["from"] = {"document": True}
    if material.when:
        entry["when"] = material.when
    if material.note:
        entry["note"] = material.note
    return entry


def _counts(tally: Tally) -> dict[str, int]:
    return {
        "required": tally.required,
        "by_sharing": tally.shared + tally.certificate,
        "shared": tally.shared,
        "certificate": tally.certificate,
        "by_family": tally.family,
        "in_application": tally.in_application,
    }


def case_materials(
    catalog: Catalog,
    materials: MaterialsCatalog,
    requests: Sequence[Mapping[str, Any]],
    answered: Mapping[str, Sequence[Sequence[str]]] | None = None,
) -> dict[str, Any]:
    """The family's view of its case's materials: per service (its latest request: id,
    localities), the materials its service requires there and how each is satisfied, and the
    counts, each request's as its office counts it (`request_counts`: its list and the items
    of the one-time notices its family answered, `answered`: request id → each answered
    notice's items), and the case's, their sums (what sharing spared the family: the Wenzhou
    measure for one case). The measure is per matter: a resubmission replaces its rejected
    request here (`requests` in plan order, so a service's latest attempt comes last), its
    list is not counted again."""
    answered = answered or {}
    latest = {str(r["service"]): r for r in requests}
    services: list[dict[str, Any]] = []
    total = dict.fromkeys((*_counts(Tally()), "on_notice"), 0)
    for request in latest.values():
        service = str(request["service"])
        receiving, handling = str(request["receiving_locality"]), str(request["handling_locality"])
        found = materials.of(service)
        if found is None:
            continue
        request_id = request.get("service_request_id")
        counts = request_counts(materials, request, answered.get(str(request_id), ()))
        total = {key: total[key] + counts[key] for key in total}
        services.append(
            {
                "service": service,
                "service_request_id": request_id,
                "required": [_shown(m, catalog) for m in found.required(receiving, handling)],
                "counts": counts,
            }
        )
    return {"services": services, "counts": total}
