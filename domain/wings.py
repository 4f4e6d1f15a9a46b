"""The wings this ledger carries, and the reference data they share.

Each "one thing" (出生一件事 first) is a package of its own under domain/ that speaks the case
kernel's language; this module is the one place that names them all.
"""

from __future__ import annotations

from functools import cache

from domain.births.catalog import load_catalog
from domain.kernel.alliance import Alliance
from domain.kernel.catalog import read_reference


@cache
def load_alliance() -> Alliance:
    """The shipped alliance (`domain/kernel/reference/alliance.json`), validated against the
    services of every wing once and cached."""
    return Alliance.from_dict(read_reference("domain.kernel", "alliance.json"), load_catalog())
