"""How the births wing's values are stored in events: as the very dicts stored before them.

Each value is written as `{"_type_": name, "_data_": dict}`, where the dict is what version 1
of its events stored in place of the value, so an upcast is the transcoding's `decode`.
"""

from __future__ import annotations

from eventsourcing.persistence import Transcoding

from domain.births.facts import BirthFacts
from domain.births.family_application import FamilyApplication
from domain.kernel.transcodings import AsDict

BIRTH_FACTS = AsDict(BirthFacts, "birth_facts")
FAMILY_APPLICATION = AsDict(FamilyApplication, "family_application")
BIRTHS_TRANSCODINGS: tuple[Transcoding, ...] = (BIRTH_FACTS, FAMILY_APPLICATION)
