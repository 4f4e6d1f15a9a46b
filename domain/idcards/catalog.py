"""The ID card catalog and materials, validated by the kernel with this wing's vocabulary."""

from __future__ import annotations

from functools import cache

from domain.kernel.catalog import Catalog, Vocabulary, read_reference
from domain.kernel.materials import MaterialsCatalog

# The places of an ID card case (domain/idcards/planning.py fills them): the hukou county
# (the card is made there), the applying window's county, and that county again for the
# temporary card when the applicant asked for one (else no place: it is not planned).
HANDLING_RULES = ("hukou", "applying", "temporary")
FIELDS = frozenset(
    {
        "applicant.name",
        "applicant.citizen_id",
        "applicant.phone",
        "hukou_division",
        "applying_division",
        "reason",
    }
)
VOCABULARY = Vocabulary(HANDLING_RULES, FIELDS)


@cache
def load_catalog() -> Catalog:
    """The shipped catalog (`domain/idcards/reference/catalog.json`), validated once."""
    return Catalog.from_dict(read_reference("domain.idcards", "catalog.json"), VOCABULARY)


@cache
def load_materials() -> MaterialsCatalog:
    """Each service's required materials (`domain/idcards/reference/materials.json`)."""
    data = read_reference("domain.idcards", "materials.json")
    return MaterialsCatalog.from_dict(data, load_catalog(), frozenset())
