"""Required elements pydantic does not report while a resource has other errors.

fhir_core checks required primitives (`Composition.date`, `Observation.status`) and required
choices (`value[x]`) after an element's fields validate: an element with any other error
never gets there, so a hospital would learn of them one round at a time. This walks the raw
JSON with the model classes and finds them all, for the first answer to list every error.
"""

from __future__ import annotations

import typing
from collections.abc import Callable, Iterator
from typing import Any

from integrations.hospital.issues import Issue

ModelOf = Callable[[str], Any]  # resource type name → model class (None if unknown)
ABSTRACT = ("Resource", "DomainResource")


def missing_required(data: dict[str, Any], model_of: ModelOf, version: str) -> list[Issue]:
    """Every required primitive or choice element absent anywhere in the message (a stack,
    not recursion: a message may nest Bundles 1,000 deep)."""
    root = model_of("Bundle")
    found: list[Issue] = []
    stack: list[tuple[Any, dict[str, Any], str]] = [(root, data, "Bundle")] if root else []
    while stack:
        cls, node, path = stack.pop()
        for where, text in _missing(cls, node, path):
            found.append(Issue("error", "required", f"{text} (FHIR {version})", where))
        stack.extend(reversed(list(_children(cls, node, path, model_of))))
    return found


def _missing(cls: Any, node: dict[str, Any], path: str) -> Iterator[tuple[str, str]]:
    """The element's own required primitives and required choices that are absent."""
    choices: dict[str, tuple[bool, list[str]]] = {}
    for name, field in cls.model_fields.items():
        key, extra = field.alias or name, field.json_schema_extra or {}
        if name.endswith("__ext"):
            continue
        if extra.get("element_required") and node.get(key) is None and not _explained(node, key):
            yield f"{path}.{key}", "A required element is missing"
        if "one_of_many" in extra:
            required, keys = choices.get(extra["one_of_many"], (False, []))
            required = required or extra["one_of_many_required"] is True
            choices[extra["one_of_many"]] = (required, [*keys, key])
    for prefix, (required, keys) in choices.items():
        if required and all(node.get(key) is None for key in keys):
            yield f"{path}.{prefix}", f"A required element is missing: one of {', '.join(keys)}"


def _children(
    cls: Any, node: dict[str, Any], path: str, model_of: ModelOf
) -> Iterator[tuple[Any, dict[str, Any], str]]:
    """(class, dict, path) of the element's complex children, in document order."""
    for name, field in cls.model_fields.items():
        key = field.alias or name
        value = node.get(key)
        if name.endswith("__ext") or not isinstance(value, dict | list):
            continue
        items = list(enumerate(value)) if isinstance(value, list) else [(None, value)]
        dicts = [(i, item) for i, item in items if isinstance(item, dict)]
        fhir_type = _fhir_type(field.annotation) if dicts else None
        if fhir_type is None:
            continue
        base = fhir_type.get_model_klass()
        for i, item in dicts:
            child = _class_for(base, item, model_of)
            if child is not None:
                yield child, item, f"{path}.{key}" if i is None else f"{path}.{key}[{i}]"


def _class_for(base: Any, item: dict[str, Any], model_of: ModelOf) -> Any:
    """The element's class; a resource's by its resourceType (None when unknown)."""
    if getattr(base, "__resource_type__", None) not in ABSTRACT:
        return base
    name = item.get("resourceType")
    return model_of(name) if isinstance(name, str) else None


def _fhir_type(annotation: Any) -> Any:
    """The fhir_core type in a field's annotation (Optional[List[XType]] → XType)."""
    if hasattr(annotation, "get_model_klass"):
        return annotation
    for argument in typing.get_args(annotation):
        found = _fhir_type(argument)
        if found is not None:
            return found
    return None


def _explained(node: dict[str, Any], key: str) -> bool:
    """A primitive may be absent when its `_key` sibling carries an extension saying why."""
    sibling = node.get(f"_{key}")
    return isinstance(sibling, dict) and bool(sibling.get("extension"))
