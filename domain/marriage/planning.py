"""What planning a marriage case needs: the registration place and each party's hukou place
(places only, never names or numbers of people)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eventsourcing.persistence import Transcoding

from domain.kernel.routing import Places


@dataclass(frozen=True)
class MarriageInputs:
    """The county that registers, and the hukou county of each party."""

    registration: str
    party_a_hukou: str
    party_b_hukou: str


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
        return Places(home=inputs.registration, at=at)

    def may_dispatch(self, inputs: MarriageInputs, service: str) -> bool:
        return True


class MarriageInputsAsDict(Transcoding):
    type = MarriageInputs
    name = "marriage_inputs"

    def encode(self, obj: MarriageInputs) -> dict[str, str]:
        return {
            "registration": obj.registration,
            "party_a_hukou": obj.party_a_hukou,
            "party_b_hukou": obj.party_b_hukou,
        }

    def decode(self, data: Any) -> MarriageInputs:
        return MarriageInputs(data["registration"], data["party_a_hukou"], data["party_b_hukou"])
