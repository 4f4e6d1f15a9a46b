"""Which FHIR version a message is written in, from what it says and how it is shaped.

R4 (4.0.1, read with the R4B models) and R5 are processed; STU3 and DSTU2 are refused with
one issue that names the version and where it shows. Evidence, first found wins:
the media type's `fhirVersion` parameter, a versioned `meta.profile`, the MessageHeader's
shape (`event` in STU3/DSTU2, `data` in DSTU2; `eventCanonical`, `endpointUrl` in R5), and a
resource type that exists only in one version. Without evidence: None (R4, then R5).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from fhir.resources import get_fhir_model_class as r5_model_class
from fhir.resources.R4B import get_fhir_model_class as r4_model_class
from fhir.resources.STU3 import get_fhir_model_class as stu3_model_class

PROCESSED = ("R4", "R5")
HEADER = "Bundle.entry[0].resource"
_BY_NUMBER = {"1.0": "DSTU2", "3.0": "STU3", "4.0": "R4", "4.3": "R4", "5.0": "R5"}
_PROFILE = re.compile(r"hl7\.org/fhir/(DSTU2|STU3|R4B?|R5)/|\|(\d\.\d)")
_R5_ENDPOINT = ("endpointUrl", "endpointReference")


@dataclass(frozen=True)
class Version:
    """A FHIR version and the evidence for it: where (FHIRPath, None for a header) and what."""

    name: str  # "DSTU2" | "STU3" | "R4" | "R5"
    expression: str | None
    evidence: str


def declared(media_parameter: str | None) -> Version | None:
    """The version a `fhirVersion=4.0` media type parameter names."""
    if not media_parameter:
        return None
    name = _BY_NUMBER.get(media_parameter.strip()[:3])
    text = f"Content-Type fhirVersion={media_parameter.strip()}"
    return Version(name, None, text) if name else None


def detect(data: dict[str, Any], header: dict[str, Any]) -> tuple[Version | None, Version | None]:
    """(what the profile or the header says, what a version-specific resource type says):
    either may be None; the caller refuses a message where the two disagree."""
    return _by_profile(data, header) or _by_header(header), _by_resource_types(data)


def _by_profile(data: dict[str, Any], header: dict[str, Any]) -> Version | None:
    for resource, path in ((data, "Bundle"), (header, HEADER)):
        meta = resource.get("meta")
        profiles = meta.get("profile") if isinstance(meta, dict) else None
        for i, profile in enumerate(profiles if isinstance(profiles, list) else []):
            match = _PROFILE.search(profile) if isinstance(profile, str) else None
            name = match and (match.group(1) or _BY_NUMBER.get(match.group(2) or "", ""))
            if name:
                where = f"{path}.meta.profile[{i}]"
                return Version(name.replace("R4B", "R4"), where, f"meta.profile {profile}")
    return None


def _by_header(header: dict[str, Any]) -> Version | None:
    if "event" in header:
        name = "DSTU2" if "data" in header else "STU3"
        return Version(name, f"{HEADER}.event", "MessageHeader.event (R4 has eventCoding)")
    if "eventCanonical" in header:
        return Version("R5", f"{HEADER}.eventCanonical", "MessageHeader.eventCanonical")
    for path, element in _endpoints(header):
        for key in _R5_ENDPOINT:
            if key in element:
                return Version("R5", f"{path}.{key}", f"MessageHeader {key}")
        if "endpoint" in element:  # R5 renamed it endpointUrl
            return Version("R4", f"{path}.endpoint", "MessageHeader endpoint")
    if "eventUri" in header:  # R5 has eventCanonical instead
        return Version("R4", f"{HEADER}.eventUri", "MessageHeader.eventUri")
    return None


def _endpoints(header: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    source = header.get("source")
    if isinstance(source, dict):
        yield f"{HEADER}.source", source
    destinations = header.get("destination")
    for i, destination in enumerate(destinations if isinstance(destinations, list) else []):
        if isinstance(destination, dict):
            yield f"{HEADER}.destination[{i}]", destination


def _by_resource_types(data: dict[str, Any]) -> Version | None:
    if not any(_only_in(name) for name in _type_names(data)):
        return None  # the common case: no path is built
    for path, name in _resource_types(data):
        only = _only_in(name)
        if only is not None:
            return Version(only, path, f"resourceType {name} exists only in FHIR {only}")
    return None


def _resource_types(data: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """(FHIRPath, resourceType) of each resource where a message holds them: entries (of
    nested Bundles too), contained resources and Parameters values, in document order
    (a stack, not recursion: a message may nest Bundles 1,000 deep)."""
    stack: list[tuple[str, Any]] = [("Bundle", data)]
    while stack:
        path, resource = stack.pop()
        name = resource.get("resourceType")
        if not isinstance(name, str):
            continue
        yield path, name
        inner = [
            (f"{path}.{key}[{i}]{suffix}", item)
            for key, suffix in (*_HOLDERS.get(name, ()), ("contained", ""))
            for i, item in _items(resource.get(key), suffix)
        ]
        stack.extend(reversed(inner))


def _type_names(data: dict[str, Any]) -> set[str]:
    """The resourceTypes of the resources `_resource_types` visits, with no path built."""
    names: set[str] = set()
    stack: list[Any] = [data]
    while stack:
        resource = stack.pop()
        name = resource.get("resourceType")
        if not isinstance(name, str):
            continue
        names.add(name)
        for key, suffix in (*_HOLDERS.get(name, ()), ("contained", "")):
            stack.extend(item for _, item in _items(resource.get(key), suffix))
    return names


_HOLDERS: dict[str, tuple[tuple[str, str], ...]] = {
    "Bundle": (("entry", ".resource"),),
    "Parameters": (("parameter", ".resource"),),
}


def _items(value: Any, suffix: str) -> Iterator[tuple[int, dict[str, Any]]]:
    """(position, resource) of a list of resources, or of elements holding one in `resource`."""
    for i, item in enumerate(value if isinstance(value, list) else []):
        found = item.get("resource") if suffix and isinstance(item, dict) else item
        if isinstance(found, dict):
            yield i, found


@lru_cache(maxsize=512)
def _only_in(name: str) -> str | None:
    """'R5' for a type R4 lacks, 'STU3' for a type only STU3 has, else None."""
    r4, r5 = _known(r4_model_class, name), _known(r5_model_class, name)
    if r5 and not r4:
        return "R5"
    if not (r4 or r5) and _known(stu3_model_class, name):
        return "STU3"
    return None


def _known(model_class: Callable[[str], Any], name: str) -> bool:
    try:
        return isinstance(model_class(name), type)
    except (KeyError, ValueError, TypeError, AttributeError, ImportError):
        return False
