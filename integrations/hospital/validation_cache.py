"""Once-per-process caches for fhir_core's per-call overhead: the same validation, less work.

fhir_core re-derives, for every element it validates, facts that depend only on the model
class: which list fields hold complex types (where a null is an error), which primitive
fields are required and under which alias, which fields form a choice ("value[x]") and
whether one is required, and the class a resource type name maps to (`import_string` on a
dotted path, once per contained resource). Profiled on ~10 kB notifications these were about
half of validation. `install()` swaps in versions that compute them once per class; the checks
run on the data and the instance as before and raise the very same errors
(tests/unit/test_validation_cache.py compares them with the originals).
"""

from __future__ import annotations

import types
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cache
from typing import Any

from fhir_core import fhirabstractmodel
from fhir_core import types as fhir_types
from fhir_core.fhirabstractmodel import FHIRAbstractModel
from fhir_core.utils import is_list_type, is_primitive_type
from pydantic_core import InitErrorDetails, PydanticCustomError, ValidationError

Choice = tuple[list[str], bool]  # the fields of one choice element, and whether one is required
Required = tuple[str, str | None, str | None]  # field name, its alias, its `_field` extension

ORIGINAL_ONE_OF_MANY: Callable[[Any], None] = FHIRAbstractModel._validate_one_of_many
ORIGINAL_REQUIRED: Callable[[Any], None] = FHIRAbstractModel._validate_required_primitive_elements
_REJECT_NULLS: types.FunctionType = vars(FHIRAbstractModel)["reject_null_complex_elements"].__func__
# A copy of fhir_core's own "before" validator, kept for install()/stock() and the tests:
# pydantic compiled a bound reference to the function into every model's schema, so the
# function is changed in place (its code) rather than replaced.
ORIGINAL_REJECT_NULLS = types.FunctionType(
    _REJECT_NULLS.__code__, _REJECT_NULLS.__globals__, _REJECT_NULLS.__name__
)
_MISSING = object()
_choices_by_class: dict[type[Any], tuple[Choice, ...]] = {}
_required_by_class: dict[type[Any], tuple[Required, ...]] = {}
_lists_by_class: dict[type[Any], tuple[tuple[str, str | None], ...]] = {}


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


def _complex_lists(cls: type[Any]) -> tuple[tuple[str, str | None], ...]:
    """(name, alias) of the class's list fields of complex types (not `__ext` siblings)."""
    fields = cls.model_fields.items()
    found = tuple(
        (name, field.alias)
        for name, field in fields
        if is_list_type(field) and not is_primitive_type(field) and not name.endswith("__ext")
    )
    _lists_by_class[cls] = found
    return found


def reject_null_complex_elements(cls: type[Any], data: Any) -> Any:
    """fhir_core's `reject_null_complex_elements` with the class's list fields found once."""
    if not isinstance(data, dict):
        return data
    keys = _lists_by_class.get(cls)
    if keys is None:
        keys = _complex_lists(cls)
    errors: list[InitErrorDetails] = []
    for name, alias in keys:
        key = alias if alias and alias in data else name
        value = data.get(key)
        if isinstance(value, list) and any(item is None for item in value):
            text = "None is not allowed as an element of {field}"
            error = PydanticCustomError("list_type", text, {"field": key})
            errors.append({"type": error, "loc": (key,), "input": value})
    if errors:
        raise ValidationError.from_exception_data(cls.__name__, errors)
    return data


# fhir_core's function, once its code is swapped, runs this in fhir_core's module globals.
_newborn_ledger_reject_nulls = reject_null_complex_elements


def _reject_nulls_trampoline(cls: Any, data: Any) -> Any:
    return _newborn_ledger_reject_nulls(cls, data)


def _required(cls: type[Any], instance: Any) -> tuple[Required, ...]:
    """A class's required primitive fields: (field name, alias, extension field)."""
    pairs = instance.get_required_fields()  # generated per class, returns a constant
    aliases = cls.get_alias_mapping() if pairs else {}
    found = tuple(
        (aliases[name], cls.model_fields[aliases[name]].alias, ext) for name, ext in pairs
    )
    _required_by_class[cls] = found
    return found


def _has_extension(ext_value: Any) -> bool:
    """fhir_core's test for a primitive's `_field` sibling that explains a missing value."""
    if ext_value in (_MISSING, None):
        return False
    if isinstance(ext_value, dict):
        return len(ext_value.get("extension", [])) != 0
    return bool(ext_value.extension and len(ext_value.extension) > 0)


def validate_required_primitive_elements(self: Any) -> None:
    """fhir_core's `_validate_required_primitive_elements` with the fields found once."""
    cls = type(self)
    required = _required_by_class.get(cls)
    if required is None:
        required = _required(cls, self)
    errors: list[InitErrorDetails] = []
    for name, alias, ext in required:
        value = getattr(self, name, _MISSING)
        if value not in (_MISSING, None):
            continue
        if not _has_extension(getattr(self, ext, _MISSING) if ext is not None else None):
            errors.append(_missing_error(alias, value))
    if errors:
        raise ValidationError.from_exception_data(cls.__name__, errors)


def _missing_error(alias: str | None, value: Any) -> InitErrorDetails:
    text = "Value for the field '{field_name}' is required."
    error = PydanticCustomError("model_field_validation.missing", text, {"field_name": alias})
    return {"type": error, "loc": (alias,), "input": value}  # type: ignore[typeddict-item]


def install() -> None:
    """Swap in the cached versions (idempotent; affects every FHIR model in the process)."""
    module = vars(fhir_types)  # fhir_core calls its module-level import_string per resource
    if not hasattr(module["import_string"], "cache_info"):
        module["import_string"] = cache(module["import_string"])
    vars(fhirabstractmodel)["_newborn_ledger_reject_nulls"] = reject_null_complex_elements
    _REJECT_NULLS.__code__ = _reject_nulls_trampoline.__code__
    FHIRAbstractModel._validate_one_of_many = validate_one_of_many  # type: ignore[method-assign]
    FHIRAbstractModel._validate_required_primitive_elements = (  # type: ignore[method-assign]
        validate_required_primitive_elements
    )


@contextmanager
def stock() -> Iterator[None]:
    """fhir_core's own validators for the duration (the bench's validation-only baseline)."""
    installed = _REJECT_NULLS.__code__ is _reject_nulls_trampoline.__code__
    module = vars(fhir_types)
    import_string = module["import_string"]
    _REJECT_NULLS.__code__ = ORIGINAL_REJECT_NULLS.__code__
    module["import_string"] = getattr(import_string, "__wrapped__", import_string)
    FHIRAbstractModel._validate_one_of_many = ORIGINAL_ONE_OF_MANY  # type: ignore[method-assign]
    FHIRAbstractModel._validate_required_primitive_elements = ORIGINAL_REQUIRED  # type: ignore[method-assign]
    try:
        yield
    finally:
        module["import_string"] = import_string
        if installed:
            install()
