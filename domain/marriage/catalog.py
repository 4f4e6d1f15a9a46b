"""The marriage catalog and materials, validated by the kernel with this wing's vocabulary."""

from __future__ import annotations

from functools import cache

from domain.kernel.catalog import Catalog, Vocabulary, read_reference
from domain.kernel.materials import MaterialsCatalog

# The places of a marriage case a service can be handled at (planning.py fills them).
HANDLING_RULES = ("registration", "party-a-hukou", "party-b-hukou")
PARTY_FIELDS = ("name", "citizen_id", "phone", "hukou_division", "residence_division")
APPLICATION_FIELDS = ("registration_place", "registration_division")
IDENTITY_FIELDS = ("identity_check.method", "identity_check.document")


def case_fields() -> frozenset[str]:
    """Field names a service may see: each party's (dotted), the application's, the check's."""
    parties = [f"party_{who}.{name}" for who in ("a", "b") for name in PARTY_FIELDS]
    return frozenset([*parties, *APPLICATION_FIELDS, *IDENTITY_FIELDS])


VOCABULARY = Vocabulary(HANDLING_RULES, case_fields())


@cache
def load_catalog() -> Catalog:
    """The shipped catalog (`domain/marriage/reference/catalog.json`), validated once."""
    return Catalog.from_dict(read_reference("domain.marriage", "catalog.json"), VOCABULARY)


@cache
def load_materials() -> MaterialsCatalog:
    """Each service's required materials (`domain/marriage/reference/materials.json`),
    checked against the catalog."""
    data = read_reference("domain.marriage", "materials.json")
    return MaterialsCatalog.from_dict(data, load_catalog(), frozenset(APPLICATION_FIELDS))
