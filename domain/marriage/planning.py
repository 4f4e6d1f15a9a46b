"""What planning a marriage case needs: the registration place and each party's hukou place
(places only, never names or numbers of people)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eventsourcing.persistence import Transcoding

from domain.kernel.routing import Places

# The condition a national list entry may name (`when`): the couple registers at a party's
# hukou place (婚姻登记条例 Art. 4, nationwide), not at a residence permit's (the 2023 pilot).
AT_HUKOU_PLACE = "registered-at-hukou-place"
HUKOU_PLACES = ("party-a-hukou", "party-b-hukou")


@dataclass(frozen=True)
class MarriageInputs:
    """The county that registers, the hukou county of each party, and the place chosen
    (`registration_place`; None in facts recorded before it was: the pilot's rule then)."""

    registration: str
    party_a_hukou: str
    party_b_hukou: str
    registration_place: str | None = None


class MarriagePlanning:
    """Nothing waits: every place is known when the applicants apply. The checks are handled
    at each hukou place and received at the registration place (the applicants' home)."""

    def merged(self, inputs: MarriageInputs | None, part: MarriageInputs) -> MarriageInputs:
        return part

    def routing(self, inputs: MarriageInputs) -> Places:
        at = (
            ("registration", inputs.registration),
            ("party-a-hukou", inputs.party_a_hukou),
            ("party-b-hukou", inputs.party_b_hukou),
        )
        at_hukou = inputs.registration_place in HUKOU_PLACES
        conditions = frozenset({AT_HUKOU_PLACE}) if at_hukou else frozenset()
        return Places(home=inputs.registration, at=at, conditions=conditions)

    def may_dispatch(self, inputs: MarriageInputs, service: str) -> bool:
        return True


class MarriageInputsAsDict(Transcoding):
    type = MarriageInputs
    name = "marriage_inputs"

    def encode(self, obj: MarriageInputs) -> dict[str, str | None]:
        return {
            "registration": obj.registration,
            "party_a_hukou": obj.party_a_hukou,
            "party_b_hukou": obj.party_b_hukou,
            "registration_place": obj.registration_place,
        }

    def decode(self, data: Any) -> MarriageInputs:
        return MarriageInputs(
            data["registration"],
            data["party_a_hukou"],
            data["party_b_hukou"],
            data.get("registration_place"),
        )
