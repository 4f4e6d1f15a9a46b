"""The newborn catalog: the services of 出生一件事, as reference data the kernel validates."""

from __future__ import annotations

from dataclasses import fields
from functools import cache

from domain.births.facts import BirthFacts, Parent
from domain.kernel.catalog import Catalog, Vocabulary, read_reference
from domain.kernel.materials import MaterialsCatalog

# The places of a birth case a service can be handled at (domain/births/planning.py fills them).
HANDLING_RULES = (
    "birth-place",
    "residence",
    "household-hukou",
    "insured-place",
    "mother-insured-place",
)
APPLICATION_FIELDS = ("child_name", "household", "residence_division", "insured_division")


def fact_fields() -> frozenset[str]:
    """Field names a service may see: birth facts (parents dotted) and application fields."""
    parent = [f.name for f in fields(Parent)]
    facts = [f.name for f in fields(BirthFacts) if f.name not in ("mother", "father")]
    dotted = [f"{who}.{name}" for who in ("mother", "father") for name in parent]
    return frozenset([*facts, *dotted, *APPLICATION_FIELDS])


VOCABULARY = Vocabulary(HANDLING_RULES, fact_fields())


@cache
def load_catalog() -> Catalog:
    """The shipped catalog (`domain/births/reference/catalog.json`), validated once, cached."""
    return Catalog.from_dict(read_reference("domain.births", "catalog.json"), VOCABULARY)


@cache
def load_materials() -> MaterialsCatalog:
    """Each service's required materials (`domain/births/reference/materials.json`), checked
    against the catalog, cached."""
    data = read_reference("domain.births", "materials.json")
    return MaterialsCatalog.from_dict(data, load_catalog(), frozenset(APPLICATION_FIELDS))
