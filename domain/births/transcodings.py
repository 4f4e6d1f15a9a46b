"""How the births wing's values are stored in events: as the very dicts stored before them.

Each value is written as `{"_type_": name, "_data_": dict}`, where the dict is what version 1
of its events stored in place of the value, so an upcast is the transcoding's `decode`.
"""

from __future__ import annotations

from typing import Any

from eventsourcing.persistence import Transcoding

from domain.births.facts import BirthFacts
from domain.births.family_application import FamilyApplication


class BirthFactsAsDict(Transcoding):
    type = BirthFacts
    name = "birth_facts"

    def encode(self, obj: BirthFacts) -> dict[str, Any]:
        return obj.to_dict()

    def decode(self, data: Any) -> BirthFacts:
        return BirthFacts.from_dict(data)


class FamilyApplicationAsDict(Transcoding):
    type = FamilyApplication
    name = "family_application"

    def encode(self, obj: FamilyApplication) -> dict[str, Any]:
        return obj.to_dict()

    def decode(self, data: Any) -> FamilyApplication:
        return FamilyApplication.from_dict(data)


BIRTH_FACTS = BirthFactsAsDict()
FAMILY_APPLICATION = FamilyApplicationAsDict()
BIRTHS_TRANSCODINGS: tuple[Transcoding, ...] = (BIRTH_FACTS, FAMILY_APPLICATION)
