"""The domain speaks values: no event field, upcast or command field is typed `Any`."""

from __future__ import annotations

import dataclasses
import inspect
from types import ModuleType

from eventsourcing.domain import CanMutateAggregate

import domain.births.commands
import domain.kernel.commands
from domain.births.birth_case import BirthCase
from domain.births.hospital_message import HospitalMessage
from domain.kernel.actors import Actor
from domain.kernel.answers import Answer
from domain.kernel.case_plan import CasePlan
from domain.kernel.service_request import ServiceRequest
from domain.kernel.systems import RegistrySystem

AGGREGATES = (BirthCase, ServiceRequest, HospitalMessage, Actor, CasePlan, Answer, RegistrySystem)
COMMANDS = (domain.births.commands, domain.kernel.commands)


def signatures(cls: type) -> dict[str, str]:
    """The types of the fields of `cls` (a dataclass: an event or a command) and of its
    upcasts' arguments, as written."""
    found: dict[str, str] = {}
    if dataclasses.is_dataclass(cls):
        found |= {f"{cls.__qualname__}.{f.name}": str(f.type) for f in dataclasses.fields(cls)}
    for name in dir(cls):  # the library's event class is a subclass of the one written
        if name.startswith("upcast_v"):
            member = inspect.getattr_static(cls, name)
            function = member.__func__ if isinstance(member, staticmethod) else member
            for arg, annotation in function.__annotations__.items():
                found[f"{cls.__qualname__}.{name}({arg})"] = str(annotation)
    return found


def event_classes() -> list[type]:
    return [
        value
        for aggregate in AGGREGATES
        for value in vars(aggregate).values()
        if isinstance(value, type) and issubclass(value, CanMutateAggregate)
    ] + list(AGGREGATES)


def command_classes(module: ModuleType) -> list[type]:
    return [
        value
        for _, value in inspect.getmembers(module, inspect.isclass)
        if dataclasses.is_dataclass(value) and value.__module__ == module.__name__
    ]


def test_no_event_or_command_signature_is_any() -> None:
    classes = event_classes() + [c for m in COMMANDS for c in command_classes(m)]
    assert len(classes) > 30
    found = {k: v for cls in classes for k, v in signatures(cls).items()}
    assert "BirthCase.Notified.facts" in found
    assert "ServiceRequest.Approved.result" in found
    assert "CasePlan.PlanDrawn.plan" in found
    assert "CasePlan.InputsUpdated.upcast_v1_v2(state)" in found
    assert "BirthCase.Notified.upcast_v1_v2(state)" in found
    assert {k: v for k, v in found.items() if "Any" in v} == {}
