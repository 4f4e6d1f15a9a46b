"""Leaner bodies for fhir_core's per-element hooks; `validation_cache.install()` swaps them in.

Each function here is the code of one of fhir_core's own functions once installed: it runs in
fhir_core's module globals (`fhir_core.fhirabstractmodel`), where it finds what it needs under
the `_newborn_ledger_*` names that install() sets there (declared below for the type checker).
Anything out of the common way is handed to fhir_core's original, so the answers and errors
are the original's (tests/unit/test_validation_cache.py compares them).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Check = Callable[[Any], None]


def _unset(*args: Any, **kwargs: Any) -> Any:
    raise RuntimeError("validation_cache.install() sets this in fhir_core's module globals")


# What these functions use; install() sets the real ones in fhir_core's module globals.
_newborn_ledger_after_checks: dict[type[Any], tuple[Check, ...]] = {}
_newborn_ledger_after_plan: Callable[[Any], tuple[Check, ...]] = _unset
_newborn_ledger_init: Callable[..., None] = _unset
_newborn_ledger_not_self: Callable[[], None] = _unset
_newborn_ledger_lists: dict[type[Any], tuple[tuple[str, str | None], ...]] = {}
_newborn_ledger_complex_lists: Callable[[type[Any]], tuple[tuple[str, str | None], ...]] = _unset
_newborn_ledger_reject_nulls: Callable[[type[Any], Any], Any] = _unset
# in fhir_core.types' globals: the model class a FhirBase type validates in one step, or False
_newborn_ledger_one_step: dict[type[Any], Any] = {}
_newborn_ledger_one_step_plan: Callable[[type[Any]], Any] = _unset


def validate_after_model_construction(self: Any) -> Any:
    """fhir_core's "after" model validator: the class's checks, found once (required
    primitives, then choices, in fhir_core's order); none for most element classes."""
    checks = _newborn_ledger_after_checks.get(type(self))
    if checks is None:
        checks = _newborn_ledger_after_plan(self)
    for check in checks:
        check(self)
    return self


def reject_null_complex_elements(cls: Any, data: Any) -> Any:
    """fhir_core's "before" model validator: no null in any list field (by identity: `in`
    tries that first) → the data as it is; else the whole check, which reports."""
    if not isinstance(data, dict):
        return data
    keys = _newborn_ledger_lists.get(cls)
    if keys is None:
        keys = _newborn_ledger_complex_lists(cls)
    for name, alias in keys:
        value = data.get(alias if alias and alias in data else name)
        if isinstance(value, list) and None in value:
            return _newborn_ledger_reject_nulls(cls, data)
    return data


def model_init(self: Any, /, **data: Any) -> None:
    """FHIRAbstractModel.__init__: a `resourceType` that is not a field and matches is
    dropped, then pydantic's BaseModel.__init__ runs inline (one call and one copy of the
    data less); anything else (`resource_type`, another type) goes to the original."""
    if "resource_type" in data or self.__resource_type__ is Ellipsis:
        return _newborn_ledger_init(self, **data)
    if "resourceType" in data and "resourceType" not in type(self).__pydantic_fields__:
        named = data.pop("resourceType")
        if named is not None and named != self.__resource_type__:
            data["resourceType"] = named
            return _newborn_ledger_init(self, **data)
    if self.__pydantic_validator__.validate_python(data, self_instance=self) is not self:
        _newborn_ledger_not_self()
    return None


def element_validator(cls: Any, source_type: Any) -> Callable[..., Any]:
    """Only here to give `_validate` fhir_core's closure: the free variables `cls` and
    `source_type` of FhirBase.__get_pydantic_core_schema__, whose `_validate` it replaces."""

    def _validate(input_value: Any, validator: Any, validation_info: Any) -> Any:
        """fhir_core's wrap validator of every FHIR-typed field, run in fhir_core.types'
        globals: an element's dict (no `resourceType`) of a class that validates in one step
        (`validation_cache.fhir_model_validator`) goes there without the classmethod calls;
        anything else as fhir_core does."""
        if input_value.__class__ is dict and cls is source_type:
            model_klass = _newborn_ledger_one_step.get(cls)
            if model_klass is None:
                model_klass = _newborn_ledger_one_step_plan(cls)
            if (
                model_klass
                and "resourceType" not in input_value
                and "resource_type" not in input_value
            ):
                instance = model_klass.__new__(model_klass)
                schema = model_klass.__pydantic_validator__
                if schema.validate_python(input_value, self_instance=instance) is not instance:
                    _newborn_ledger_not_self()
                return validator(instance)
        model_klass = source_type.get_model_klass()
        return validator(cls.fhir_model_validator(input_value, model_klass))

    return _validate
