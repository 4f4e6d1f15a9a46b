"""Every resource of a message (nested document Bundles included), with its FHIRPath."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

# fhir.resources models are untyped and may be R4B or R5 classes: the mapping reads them by
# attribute name, with getattr where the two versions differ.
Resource = Any


@dataclass(frozen=True)
class Entry:
    """One resource of the message and where it sits, for locating issues."""

    path: str
    full_url: str | None
    resource: Resource
    type: str  # the resource type, read once: the mapping asks for it ~100 times a message

    def reference_keys(self) -> Iterator[str]:
        if self.full_url:
            yield self.full_url
        if self.resource.id:
            yield f"{self.type}/{self.resource.id}"


class BundleIndex:
    """Resolves references between the entries of a message and its document Bundles."""

    def __init__(self, bundle: Resource) -> None:
        self.entries: list[Entry] = list(_flatten(bundle.entry or [], "Bundle"))
        self._by_key: dict[str, Entry] = {}
        for entry in self.entries:
            for key in entry.reference_keys():
                self._by_key.setdefault(key, entry)

    def resolve(self, reference: Resource) -> Entry | None:
        """The entry a Reference points at (fullUrl, Type/id or an absolute URL), if any."""
        ref = getattr(reference, "reference", None)
        if not isinstance(ref, str):
            return None
        return self._by_key.get(ref) or self._by_key.get(_type_and_id(ref))

    def of_type(self, name: str) -> list[Entry]:
        return [entry for entry in self.entries if entry.type == name]


def _flatten(entries: list[Resource], prefix: str) -> Iterator[Entry]:
    for i, entry in enumerate(entries):
        if entry.resource is None:
            continue
        resource = entry.resource
        found = Entry(
            f"{prefix}.entry[{i}].resource", entry.fullUrl, resource, resource.get_resource_type()
        )
        yield found
        if found.type == "Bundle":
            yield from _flatten(resource.entry or [], found.path)


def _type_and_id(reference: str) -> str:
    """'https://h.example/fhir/Patient/7/_history/2' → 'Patient/7'."""
    parts = reference.split("/")
    if "_history" in parts:
        parts = parts[: parts.index("_history")]
    return "/".join(parts[-2:])
