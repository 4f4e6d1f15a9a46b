"""Data minimisation: what one authority may see of a case, by the catalog's visible fields."""

from __future__ import annotations

from typing import Any

from domain.kernel.catalog import ServiceDefinition


def case_values(facts: dict[str, Any], application: dict[str, Any] | None) -> dict[str, Any]:
    """Flatten facts (parents dotted) and the family's application into one lookup."""
    values: dict[str, Any] = {k: v for k, v in facts.items() if k not in ("mother", "father")}
    for who in ("mother", "father"):
        for key, value in (facts.get(who) or {}).items():
            values[f"{who}.{key}"] = value
    values.update({k: v for k, v in (application or {}).items() if v is not None})
    return values


def disclose(
    service: ServiceDefinition,
    facts: dict[str, Any],
    application: dict[str, Any] | None,
    carried: dict[str, Any],
) -> dict[str, Any]:
    """Exactly the visible fields that have a value: the office sees nothing else."""
    values = case_values(facts, application) | carried
    return {
        name: values[name] for name in service.visible_fields if values.get(name) not in (None, "")
    }
