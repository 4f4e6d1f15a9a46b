"""Once-per-process caches for fhir_core's per-call overhead: the same validation, less work.

fhir_core re-derives, for every element it validates, facts that depend only on the model
class: which fields form a choice ("value[x]") and whether one is required, and the class a
resource type name maps to (`import_string` on a dotted path, once per contained resource).
Profiled on ~10 kB notifications these were ~15% of validation. `install()` swaps in versions
that compute them once per class; the checks run on the instance as before and raise the very
same errors (tests/unit/test_validation_cache.py compares them with the originals).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

from fhir_core import types as fhir_types
from fhir_core.fhirabstractmodel import FHIRAbstractModel

Choice = tuple[list[str], bool]  # the fields of one choice element, and whether one is required

ORIGINAL_ONE_OF_MANY: Callable[[Any], None] = FHIRAbstractModel._validate_one_of_many
_choices_by_class: dict[type[Any], tuple[Choice, ...]] = {}


def _choices(cls: type[Any], instance: Any) -> tuple[Choice, ...]:
    """A class's choice elements; computed from its first instance (the method is generated
    per class and returns a constant)."""
    choices: list[Choice] = []
    for prefix, fields in instance.get_one_of_many_fields().items():
        extra = cls.model_fields[fields[0]].json_schema_extra
        assert extra["one_of_many"] == prefix  # the invariant fhir_core asserts on each call
        choices.append((fields, extra["one_of_many_required"] is True))
    _choices_by_class[cls] = result = tuple(choices)
    return result


def validate_one_of_many(self: Any) -> None:
    """fhir_core's `_validate_one_of_many` with the class's choices computed once."""
    cls = type(self)
    choices = _choices_by_class.get(cls)
    if choices is None:
        choices = _choices(cls, self)
    for fields, required in choices:
        found = False
        for name in fields:
            if getattr(self, name, None) is not None:
                if found:
                    raise ValueError(
                        f"Any of one field value is expected from this list {fields}, "
                        "but got multiple!"
                    )
                found = True
        if required and not found:
            raise ValueError(f"Expect any of field value from this list {fields}.")


def install() -> None:
    """Swap in the cached versions (idempotent; affects every FHIR model in the process)."""
    module = vars(fhir_types)  # fhir_core calls its module-level import_string per resource
    if not hasattr(module["import_string"], "cache_info"):
        module["import_string"] = cache(module["import_string"])
    FHIRAbstractModel._validate_one_of_many = validate_one_of_many  # type: ignore[method-assign]
