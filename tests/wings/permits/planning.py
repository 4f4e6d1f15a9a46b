"""What planning a permit case needs: where the applicant lives and where the hukou is."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eventsourcing.persistence import Transcoding

from domain.kernel.routing import Places


@dataclass(frozen=True)
class PermitInputs:
    residence: str
    hukou: str


class PermitPlanning:
    """Nothing waits: both places are known when the applicant applies."""

    def merged(self, inputs: PermitInputs | None, part: PermitInputs) -> PermitInputs:
        return part

    def routing(self, inputs: PermitInputs) -> Places:
        at = (("residence", inputs.residence), ("hukou", inputs.hukou))
        return Places(home=inputs.residence, at=at)

    def may_dispatch(self, inputs: PermitInputs, service: str) -> bool:
        return True


class PermitInputsAsDict(Transcoding):
    type = PermitInputs
    name = "permit_inputs"

    def encode(self, obj: PermitInputs) -> dict[str, str]:
        return {"residence": obj.residence, "hukou": obj.hukou}

    def decode(self, data: Any) -> PermitInputs:
        return PermitInputs(data["residence"], data["hukou"])
