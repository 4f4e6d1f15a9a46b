"""Installed validation answers exactly as stock fhir.resources, on every message we have.

Every shared third-party example, every profile fixture and a few bench messages, each as it
is and broken in the ways the installed hooks take a different path for (nulls in lists,
required primitives gone, two or no value of a choice, `resourceType` right, wrong or where it
is a field, `resource_type`): validated as R4B and R5 from a dict and from bytes, and through
our whole intake (`parse_message`), with `validation_cache.install()` and with `stock()`.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import Any

import orjson
import pytest
from fhir.resources import get_fhir_model_class as r5_class
from fhir.resources.R4B import get_fhir_model_class as r4_class
from fhir.resources.R4B.extension import Extension
from fhir.resources.R4B.observation import Observation
from fhir_core.fhirabstractmodel import FHIRAbstractModel
from fhir_core.types import FhirBase
from pydantic import ValidationError

from bench.messages import message
from integrations.hospital import validation_cache
from integrations.hospital.birth_notification import IntakeRejectedError, parse_message
from tests.unit.test_fhir_intake import FIXTURES, SHARED

JSON = dict[str, Any]


def _sources() -> list[tuple[str, bytes]]:
    paths = sorted(FIXTURES.glob("*.json"))
    paths += sorted(SHARED.glob("*.json")) if SHARED.is_dir() else []
    found = [(path.name, path.read_bytes()) for path in paths]
    return found + [(f"bench-{i}", message("equivalence", i).body) for i in range(3)]


def _resources(value: Any) -> Iterator[JSON]:
    """Every dict carrying a resourceType, depth first."""
    if isinstance(value, list):
        for item in value:
            yield from _resources(item)
    elif isinstance(value, dict):
        if "resourceType" in value:
            yield value
        for item in value.values():
            yield from _resources(item)


def _elements(value: Any) -> Iterator[JSON]:
    """Every dict that is not a resource (an element: name, coding, extension...)."""
    if isinstance(value, list):
        for item in value:
            yield from _elements(item)
    elif isinstance(value, dict):
        if "resourceType" not in value:
            yield value
        for item in value.values():
            yield from _elements(item)


def _each(select: Callable[[Any], Iterator[JSON]], change: Callable[[JSON], None]) -> Any:
    def variant(data: Any) -> Any:
        for target in list(select(data))[:40]:
            change(target)
        return data

    return variant


def _null_in_lists(target: JSON) -> None:
    for value in target.values():
        if isinstance(value, list) and value and isinstance(value[0], dict):
            value.append(None)
            return


def _two_values(target: JSON) -> None:
    if "url" in target:  # an extension: a second value[x] (or a first and second)
        target.setdefault("valueString", "x")
        target["valueBoolean"] = True


def _no_value(target: JSON) -> None:
    if target.get("resourceType") == "Observation":
        for key in [k for k in target if k.startswith("value")]:
            del target[key]


def _two_observation_values(target: JSON) -> None:
    if target.get("resourceType") == "Observation":
        target["valueString"] = "x"
        target["valueBoolean"] = False


VARIANTS: dict[str, Callable[[Any], Any]] = {
    "as-is": lambda data: data,
    "nulls-in-lists": _each(_resources, _null_in_lists),
    "element-nulls": _each(_elements, _null_in_lists),
    "no-status": _each(_resources, lambda r: r.pop("status", None)),
    "two-extension-values": _each(_elements, _two_values),
    "no-observation-value": _each(_resources, _no_value),
    "two-observation-values": _each(_resources, _two_observation_values),
    "element-resource-type": _each(_elements, lambda e: e.update(resourceType="Coding")),
    "element-resource-type-null": _each(_elements, lambda e: e.update(resourceType=None)),
    "element-resource-type_": _each(_elements, lambda e: e.update(resource_type="HumanName")),
    "wrong-resource-type": _each(_resources, lambda r: r.update(resourceType="Basic")),
    "resource_type-key": _each(_resources, lambda r: r.update(resource_type=r["resourceType"])),
    "null-entry": lambda data: data.get("entry", []).append(None) or data,
}


def _outcome(check: Callable[[], Any]) -> object:
    try:
        result = check()
    except ValidationError as exc:
        return [(e["type"], e["loc"], e["msg"], repr(e.get("input"))) for e in exc.errors()]
    except IntakeRejectedError as exc:
        return ("rejected", exc.status, exc.message_id, exc.issues)
    except Exception as exc:  # the library's own odd failures must be the same too
        return f"{type(exc).__name__}: {exc}"
    return ("ok", repr(result))


def _answers(raw: bytes, data: Any) -> list[object]:
    answers: list[object] = [_outcome(lambda: parse_message(raw))]
    kind = data.get("resourceType") if isinstance(data, dict) else None
    for model_class in (r4_class, r5_class):
        try:
            model = model_class(kind)
        except (KeyError, ValueError, TypeError):
            continue
        answers.append(_outcome(partial(model.model_validate, copy.deepcopy(data))))
        answers.append(_outcome(partial(model.model_validate_json, raw)))
    return answers


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_installed_validation_answers_as_stock(variant: str) -> None:
    cases = []
    for name, source in _sources():
        try:
            data = VARIANTS[variant](orjson.loads(source))
        except orjson.JSONDecodeError:
            continue
        cases.append((name, orjson.dumps(data), data))
    validation_cache.install()
    ours = [_answers(raw, data) for _, raw, data in cases]
    with validation_cache.stock():
        _assert_stock()
        stock = [_answers(raw, data) for _, raw, data in cases]
    assert validation_cache.installed()
    for (name, _, _), mine, theirs in zip(cases, ours, stock, strict=True):
        assert mine == theirs, name
    # every profile fixture and bench message, and the third-party examples where ../shared is
    minimum = len(list(FIXTURES.glob("*.json"))) + 3 + (6 if SHARED.is_dir() else 0)
    assert len(cases) >= minimum


def _assert_stock() -> None:
    """Every hook is fhir_core's own again (so the comparison is with the library)."""
    assert not validation_cache.installed()
    assert FHIRAbstractModel.__init__.__code__ is validation_cache.ORIGINAL_INIT.__code__
    after = FHIRAbstractModel.validate_after_model_construction
    assert after.__code__ is validation_cache.ORIGINAL_AFTER.__code__
    nulls = FHIRAbstractModel.reject_null_complex_elements.__func__
    assert nulls.__code__ is validation_cache.ORIGINAL_REJECT_NULLS.__code__
    validator = FhirBase.fhir_model_validator.__func__  # type: ignore[attr-defined]
    assert validator is validation_cache.ORIGINAL_MODEL_VALIDATOR
    assert FHIRAbstractModel._validate_one_of_many is validation_cache.ORIGINAL_ONE_OF_MANY


def test_assigning_a_second_choice_value_is_refused_as_stock() -> None:
    def assign() -> list[object]:
        extension = Extension(url="http://example.org/x", valueString="a")
        observation = Observation.model_validate(
            {"status": "final", "code": {"text": "weight"}, "valueString": "3 kg"}
        )
        return [
            _outcome(lambda: setattr(extension, "valueBoolean", True)),
            _outcome(lambda: setattr(extension, "valueString", None)),
            _outcome(lambda: setattr(observation, "valueBoolean", True)),
            _outcome(lambda: setattr(observation, "valueString", None)),
        ]

    validation_cache.install()
    ours = assign()
    with validation_cache.stock():
        _assert_stock()
        stock = assign()
    assert ours == stock
    assert isinstance(ours[0], list)  # refused
    assert isinstance(ours[2], list)


def test_the_examples_exist() -> None:
    assert Path(FIXTURES).is_dir()
    assert len(_sources()) >= 14
