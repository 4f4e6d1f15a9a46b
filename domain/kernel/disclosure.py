"""Data minimisation: what one authority may see of a case, by the catalog's visible fields."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Protocol

from domain.kernel.catalog import ServiceDefinition

Disclosable = str | int | tuple[str, ...]  # a disclosed field's value (a list as a tuple)


class Discloses(Protocol):
    """A case as disclosure reads it: one visible field at a time (None: no value)."""

    def disclosed(self, name: str) -> Disclosable | None: ...


class DispatchPayload(Mapping[str, Disclosable]):
    """The fields dispatched to one office, in the catalog's order: an immutable mapping."""

    __slots__ = ("_fields",)

    def __init__(self, fields: Mapping[str, Disclosable] | None = None) -> None:
        self._fields: dict[str, Disclosable] = dict(fields or {})

    def __getitem__(self, name: str) -> Disclosable:
        return self._fields[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._fields)

    def __len__(self) -> int:
        return len(self._fields)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, DispatchPayload):
            return self._fields == other._fields
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"DispatchPayload({self._fields!r})"

    def to_dict(self) -> dict[str, str | int | list[str]]:
        """As JSON holds it (a tuple as a list): what version 1 of Dispatched stored."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in self._fields.items()}

    @classmethod
    def from_dict(cls, data: Mapping[str, str | int | list[str]]) -> DispatchPayload:
        return cls({k: tuple(v) if isinstance(v, list) else v for k, v in data.items()})


def disclose(
    service: ServiceDefinition, case: Discloses, carried: Mapping[str, str]
) -> DispatchPayload:
    """Exactly the visible fields that have a value: the office sees nothing else. Results
    carried from earlier services come first, then the case's own values."""
    shown: dict[str, Disclosable] = {}
    for name in service.visible_fields:
        value = carried[name] if name in carried else case.disclosed(name)
        if value is not None and value != "":
            shown[name] = value
    return DispatchPayload(shown)
