"""The family's guide to its case: how far it is, why a service waits, where and how to
collect each result (the catalog and domain/births/reference/family_collection.json)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import cache
from typing import Any

from domain.births.catalog import load_catalog
from domain.kernel.catalog import Catalog, read_reference
from domain.kernel.identifiers import full_division_name

DONE = "approved"
ENDED = frozenset({"rejected", "withdrawn", "revoked"})  # decided, and nothing to collect


@cache
def collection() -> dict[str, Any]:
    """Offices, modes and what to bring per service (reference data, read once)."""
    data = read_reference("domain.births", "family_collection.json")
    assert isinstance(data, dict)
    return data


def family_guide(services: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The case's progress and, per service, what it waits on and how to collect it, from
    the services of the case view (service, state, localities, mode, blocked_by)."""
    catalog = load_catalog()
    by_service = {str(s["service"]): s for s in services}
    return {
        "progress": progress(services),
        "services": [_entry(s, by_service, catalog) for s in services if s["service"] in catalog],
    }


def progress(services: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Done (approved) out of all; ended without a result; still open; a whole percentage."""
    total = len(services)
    done = sum(1 for s in services if s["state"] == DONE)
    ended = sum(1 for s in services if s["state"] in ENDED)
    percent = round(100 * (done + ended) / total) if total else 0
    return {"done": done, "ended": ended, "open": total - done - ended, "total": total,
            "percent": percent}  # fmt: skip


def _entry(
    row: Mapping[str, Any], by_service: Mapping[str, Mapping[str, Any]], catalog: Catalog
) -> dict[str, Any]:
    code = str(row["service"])
    definition = catalog[code]
    return {
        "service": code,
        "service_request_id": row.get("service_request_id"),
        "name": [definition.name_zh, definition.name_en],
        "state": row["state"],
        "ready": row["state"] == DONE,
        "waits_on": waits_on(row, by_service, catalog),
        "collect": collect(row, catalog),
    }


def waits_on(
    row: Mapping[str, Any], by_service: Mapping[str, Mapping[str, Any]], catalog: Catalog
) -> list[dict[str, Any]]:
    """The results this service needs and does not have yet: each dependency not approved
    (a rejected one blocks it), with why in Chinese and English."""
    if row["state"] == DONE or row["state"] in ENDED:
        return []
    waits = []
    for dependency in catalog[str(row["service"])].depends_on:
        upstream = by_service.get(dependency)
        if upstream is None or upstream["state"] == DONE:
            continue
        waits.append(_wait(dependency, str(upstream["state"]), catalog))
    return waits


def _wait(dependency: str, state: str, catalog: Catalog) -> dict[str, Any]:
    definition = catalog[dependency]
    zh, en = result_name(dependency)
    names = {"name_zh": definition.name_zh, "name_en": definition.name_en, "state": state,
             "result_zh": zh, "result_en": en}  # fmt: skip
    why = collection()["why"]["held" if state in ENDED else "waiting"]
    return {"service": dependency, "state": state, "result_field": definition.result_field,
            "result": [zh, en], "why": [text.format(**names) for text in why]}  # fmt: skip


def result_name(service: str) -> tuple[str, str]:
    names = collection()["services"].get(service, {}).get("result")
    if names:
        return str(names[0]), str(names[1])
    definition = load_catalog()[service]
    return definition.name_zh, definition.name_en


def collect(row: Mapping[str, Any], catalog: Catalog) -> dict[str, Any] | None:
    """Where (the office, in which county) and how (the mode) the family gets the result,
    and what to bring; None while the request has no route yet (manual routing)."""
    mode = collection()["modes"].get(row.get("mode") or "")
    if mode is None or row.get("manual_routing"):
        return None
    code = str(row["service"])
    county = str(row["handling_locality" if mode["where"] == "handling" else "receiving_locality"])
    place = full_division_name(county)
    office_zh, office_en = collection()["offices"][catalog[code].authority]
    bring = collection()["services"].get(code, {}).get("bring", [])
    return {
        "mode": row["mode"],
        "locality": county,
        "office": [office_zh.format(county=place), office_en.format(county=place)],
        "how": list(mode["how"]),
        "visit": bool(mode["visit"]),
        "bring": [[str(zh), str(en)] for zh, en in bring] if mode["visit"] else [],
        "result": list(result_name(code)),
    }
