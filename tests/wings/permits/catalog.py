"""The permits catalog, validated by the kernel with this wing's vocabulary."""

from __future__ import annotations

from functools import cache

from domain.kernel.catalog import Catalog, Vocabulary, read_reference

HANDLING_RULES = ("residence", "hukou")
FIELDS = frozenset(
    {"applicant.name", "applicant.citizen_id", "hukou_division", "residence_division"}
)
VOCABULARY = Vocabulary(HANDLING_RULES, FIELDS)


@cache
def load_catalog() -> Catalog:
    return Catalog.from_dict(read_reference("tests.wings.permits", "catalog.json"), VOCABULARY)
