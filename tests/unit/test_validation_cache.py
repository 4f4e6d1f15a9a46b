"""The cached choice check answers exactly as fhir_core's own, for every class the profile uses."""

from __future__ import annotations

from typing import Any

import pytest
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.extension import Extension
from fhir.resources.R4B.observation import Observation
from fhir.resources.R4B.patient import Patient
from fhir_core import types as fhir_types
from fhir_core.fhirabstractmodel import FHIRAbstractModel
from pydantic import BaseModel

from integrations.hospital import validation_cache
from integrations.hospital.validation_cache import ORIGINAL_ONE_OF_MANY, validate_one_of_many
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


def _outcome(check: Any, instance: Any) -> str:
    try:
        check(instance)
    except (ValueError, AssertionError) as exc:
        return f"{type(exc).__name__}: {exc}"
    return "ok"


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
