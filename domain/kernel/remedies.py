"""What a family can do after a rejection, and how long it has (reference data:
domain/kernel/reference/remedies.json, each entry with its legal basis and source)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from domain.kernel.catalog import read_reference
from domain.kernel.errors import ReferenceDataError

FILE = "remedies.json"


@dataclass(frozen=True)
class Remedy:
    """One way forward after a rejection (resubmission, administrative review, litigation)."""

    code: str
    name: str
    name_zh: str
    how: str
    period: str | None
    basis: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "name": self.name,
            "name_zh": self.name_zh,
            "how": self.how,
            "period": self.period,
            "basis": self.basis,
        }


@dataclass(frozen=True)
class Remedies:
    version: str
    family_window_days: int  # working days to resubmit or close, from the rejection
    family_window_basis: str
    remedies: tuple[Remedy, ...]
    supplement_window_days: int  # working days to answer the one-time notice
    supplement_window_basis: str

    def shown(self) -> list[dict[str, Any]]:
        """The remedies as a family's view lists them."""
        return [r.to_dict() for r in self.remedies]


def _text(entry: dict[str, Any], name: str, optional: bool = False) -> str | None:
    value = entry.get(name)
    if value is None and optional:
        return None
    if not isinstance(value, str) or not value.strip():
        raise ReferenceDataError(f"{FILE}: '{name}' must be text", file=FILE, field=name)
    return value


@cache
def load_remedies() -> Remedies:
    data = read_reference("domain.kernel", FILE)
    if not isinstance(data, dict):
        raise ReferenceDataError(f"{FILE}: not an object", file=FILE)
    window = data.get("family_window")
    if not isinstance(window, dict) or not isinstance(window.get("working_days"), int):
        raise ReferenceDataError(f"{FILE}: family_window.working_days", file=FILE)
    supplement = data.get("supplement_window")
    if not isinstance(supplement, dict) or not isinstance(supplement.get("working_days"), int):
        raise ReferenceDataError(f"{FILE}: supplement_window.working_days", file=FILE)
    remedies = []
    for entry in data.get("remedies") or []:
        if not isinstance(entry, dict):
            raise ReferenceDataError(f"{FILE}: a remedy is not an object", file=FILE)
        remedies.append(
            Remedy(
                code=str(_text(entry, "code")),
                name=str(_text(entry, "name")),
                name_zh=str(_text(entry, "name_zh")),
                how=str(_text(entry, "how")),
                period=_text(entry, "period", optional=True),
                basis=str(_text(entry, "basis")),
            )
        )
    if not remedies:
        raise ReferenceDataError(f"{FILE}: no remedies", file=FILE)
    return Remedies(
        version=str(_text(data, "version")),
        family_window_days=window["working_days"],
        family_window_basis=str(_text(window, "basis")),
        remedies=tuple(remedies),
        supplement_window_days=supplement["working_days"],
        supplement_window_basis=str(_text(supplement, "basis")),
    )
