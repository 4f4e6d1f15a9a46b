"""The cached choice check answers exactly as fhir_core's own, for every class the profile uses."""

from __future__ import annotations

import copy
from typing import Any

import orjson
import pytest
from fhir.resources.R4B import get_fhir_model_class as r4_class
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.extension import Extension
from fhir.resources.R4B.observation import Observation
from fhir.resources.R4B.patient import Patient
from fhir_core import types as fhir_types
from fhir_core.fhirabstractmodel import FHIRAbstractModel
from pydantic import BaseModel, ValidationError

from integrations.hospital import validation_cache
from integrations.hospital.validation_cache import (
    ORIGINAL_ONE_OF_MANY,
    ORIGINAL_REJECT_NULLS,
    ORIGINAL_REQUIRED,
    reject_null_complex_elements,
    validate_one_of_many,
    validate_required_primitive_elements,
)
from tests.unit.test_fhir_intake import FIXTURES


def _classes(model: Any, found: set[type[Any]]) -> set[type[Any]]:
    if isinstance(model, list):
        for item in model:
            _classes(item, found)
    elif isinstance(model, BaseModel):
        found.add(type(model))
        for name in type(model).model_fields:
            _classes(getattr(model, name), found)
    return found


def _profile_classes() -> list[type[Any]]:
    found: set[type[Any]] = {Observation, Extension, Patient}
    for path in sorted(FIXTURES.glob("notification-*.json")):
        try:
            _classes(Bundle.model_validate_json(path.read_bytes()), found)
        except ValueError:
            continue  # an R5 fixture; its classes are not R4B
    return sorted(found, key=lambda cls: cls.__name__)


def _outcome(check: Any, *args: Any) -> object:
    try:
        result = check(*args)
    except ValidationError as exc:  # the errors pydantic reports, not only their text
        return [(e["type"], e["loc"], e["msg"], _shown(e["input"])) for e in exc.errors()]
    except (ValueError, AssertionError) as exc:
        return f"{type(exc).__name__}: {exc}"
    return ("ok", result)


def _shown(value: Any) -> Any:
    """Inputs as pydantic reports them; a bare sentinel object only by its type."""
    return "<sentinel>" if type(value) is object else value


def _variants(cls: type[Any]) -> list[Any]:
    """No choice set, each field of each choice alone, and two fields of one choice."""
    choices = cls.model_construct().get_one_of_many_fields()
    variants = [cls.model_construct()]
    for fields in choices.values():
        variants += [cls.model_construct(**{name: "x"}) for name in fields]
        variants.append(cls.model_construct(**dict.fromkeys(fields[:2], "x")))
    return variants


@pytest.mark.parametrize("cls", _profile_classes(), ids=lambda cls: cls.__name__)
def test_the_cached_choice_check_gives_the_same_answer(cls: type[Any]) -> None:
    for instance in _variants(cls):
        assert _outcome(validate_one_of_many, instance) == _outcome(ORIGINAL_ONE_OF_MANY, instance)


def test_install_is_idempotent_and_keeps_the_import_answers() -> None:
    validation_cache.install()
    validation_cache.install()
    assert FHIRAbstractModel._validate_one_of_many is validate_one_of_many
    path = "fhir.resources.R4B.patient.Patient"
    cached = vars(fhir_types)["import_string"]
    assert cached(path) is cached.__wrapped__(path) is Patient
    assert cached.cache_info().currsize >= 1


def _null_variants(cls: type[Any]) -> list[Any]:
    """Not a dict, no lists, and for every list field (under its name and its alias): a
    null alone, a null after an element, no null, and two fields with nulls at once."""
    variants: list[Any] = [None, "x", {}]
    keys = [key for name, f in cls.model_fields.items() for key in {name, f.alias or name}]
    for key in keys:
        variants += [{key: [None]}, {key: [{}, None]}, {key: [{}]}, {key: None}]
    if len(keys) >= 2:
        variants.append({keys[0]: [None], keys[-1]: [{}, None]})
    return variants


@pytest.mark.parametrize("cls", _profile_classes(), ids=lambda cls: cls.__name__)
def test_the_cached_null_check_gives_the_same_answer(cls: type[Any]) -> None:
    for data in _null_variants(cls):
        ours = _outcome(reject_null_complex_elements, cls, data)
        assert ours == _outcome(ORIGINAL_REJECT_NULLS, cls, data), data


def _required_variants(cls: type[Any]) -> list[Any]:
    """Nothing set, then each required primitive alone given a value, an empty extension
    sibling, or an extension that explains why the value is missing."""
    required = cls.model_construct().get_required_fields()
    variants = [cls.model_construct()]
    for name, ext in required:
        field = cls.get_alias_mapping()[name]
        variants.append(cls.model_construct(**{field: "x"}))
        if ext is not None:
            explained = {"extension": [{"url": "http://example.org/x"}]}
            variants += [
                cls.model_construct(**{ext: {"extension": []}}),
                cls.model_construct(**{ext: explained}),
            ]
    return variants


@pytest.mark.parametrize("cls", _profile_classes(), ids=lambda cls: cls.__name__)
def test_the_cached_required_check_gives_the_same_answer(cls: type[Any]) -> None:
    for instance in _variants(cls)[:1] + _required_variants(cls):
        ours = _outcome(validate_required_primitive_elements, instance)
        assert ours == _outcome(ORIGINAL_REQUIRED, instance)


def _broken(data: dict[str, Any]) -> dict[str, Any]:
    """A notification with nulls in lists of complex elements and required primitives (every
    resource's `status`) gone: both checks must still report."""
    data["entry"][0]["resource"].setdefault("focus", []).append(None)
    _drop_status(data)
    return data


def _no_status(data: dict[str, Any]) -> dict[str, Any]:
    """Required primitives gone: every resource's `status`, the header's source endpoint."""
    _drop_status(data)
    data["entry"][0]["resource"].get("source", {}).pop("endpoint", None)
    return data


def _null_entry(data: dict[str, Any]) -> dict[str, Any]:
    data["entry"].append(None)  # reported by the Bundle's own check, before its entries'
    return data


def _drop_status(value: Any) -> None:
    if isinstance(value, list):
        for item in value:
            _drop_status(item)
    elif isinstance(value, dict):
        if "resourceType" in value:
            value.pop("status", None)
        for item in value.values():
            _drop_status(item)


def _validation_errors(data: dict[str, Any]) -> object:
    return _outcome(Bundle.model_validate, data)


def test_whole_messages_validate_the_same_with_and_without_the_caches() -> None:
    validation_cache.install()
    paths = sorted(FIXTURES.glob("notification-*.json"))
    datas = [orjson.loads(path.read_bytes()) for path in paths]
    cases = [copy.deepcopy(d) for d in datas] + [_broken(copy.deepcopy(d)) for d in datas]
    cases += [_null_entry(copy.deepcopy(d)) for d in datas]
    cases += [_no_status(copy.deepcopy(d)) for d in datas]
    ours = [_validation_errors(copy.deepcopy(d)) for d in cases]
    with validation_cache.stock():
        assert FHIRAbstractModel._validate_one_of_many is ORIGINAL_ONE_OF_MANY
        stock = [_validation_errors(copy.deepcopy(d)) for d in cases]
    assert FHIRAbstractModel._validate_one_of_many is validate_one_of_many
    assert [repr(o) for o in ours] == [repr(o) for o in stock]
    assert sum(isinstance(o, list) for o in ours) >= 3 * len(datas)  # the broken ones fail


def test_each_nested_element_is_checked_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """pydantic's own way runs a nested model's "after" checks twice (inside `__init__`, then
    on the finished instance); installed, they run once per instance, and still run."""
    validation_cache.install()
    path = sorted(FIXTURES.glob("notification-*.json"))[0]
    checked: list[int] = []
    Bundle.model_validate_json(path.read_bytes())  # every class's checks are planned
    for cls, checks in list(validation_cache._after_checks.items()):
        counted = (lambda instance: checked.append(id(instance)), *checks)
        monkeypatch.setitem(validation_cache._after_checks, cls, counted)
    bundle = Bundle.model_validate_json(path.read_bytes())
    nested = _instances(bundle, [])[1:]  # the Bundle itself goes through pydantic's own way
    assert len(nested) > 20
    assert checked.count(id(nested[0])) == 1
    assert {id(m) for m in nested} <= set(checked)
    assert len(checked) == len(nested) + 2  # the Bundle's own two runs


def _instances(model: Any, found: list[Any]) -> list[Any]:
    if isinstance(model, list):
        for item in model:
            _instances(item, found)
    elif isinstance(model, BaseModel):
        found.append(model)
        for name in type(model).model_fields:
            _instances(getattr(model, name), found)
    return found


def _field_validator_codes(cls: type[Any]) -> set[Any]:
    """The code of every FHIR-typed field's `_validate` closure in a model's schema (fhir_core's
    or ours; its primitive types have functions of that name too)."""
    closures = {validation_cache.OUR_VALIDATE_CODE, validation_cache.ORIGINAL_VALIDATE_CODE}
    found: set[Any] = set()
    stack: list[Any] = [cls.__pydantic_core_schema__]
    while stack:
        node = stack.pop()
        for value in node.values() if isinstance(node, dict) else node:
            if isinstance(value, dict | list):
                stack.append(value)
            elif getattr(value, "__code__", None) in closures:
                found.add(value.__code__)
    return found


def test_the_field_validators_are_swapped_in_and_out() -> None:
    """Installed, every FHIR-typed field (those of models built later too) runs the leaner
    `_validate`; stock() puts fhir_core's back for its duration."""
    ours, theirs = validation_cache.OUR_VALIDATE_CODE, validation_cache.ORIGINAL_VALIDATE_CODE
    validation_cache.install()
    assert _field_validator_codes(Patient) == {ours}
    with validation_cache.stock():
        assert _field_validator_codes(Patient) == {theirs}
        assert _field_validator_codes(Observation) == {theirs}
    assert _field_validator_codes(Observation) == {ours}
    later = r4_class("ResearchElementDefinition")  # imported on first use
    assert _field_validator_codes(later) == {ours}
