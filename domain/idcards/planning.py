"""What planning an ID card case needs: the hukou county, the applying window's county, and
whether a temporary card was asked for (places and a choice, never names or numbers)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eventsourcing.persistence import Transcoding

from domain.kernel.routing import Places


@dataclass(frozen=True)
class IdCardInputs:
    hukou: str
    applying: str
    temporary: bool


class IdCardPlanning:
    """Nothing waits: the window clerk records every place when the case is opened."""

    def merged(self, inputs: IdCardInputs | None, part: IdCardInputs) -> IdCardInputs:
        return part

    def routing(self, inputs: IdCardInputs) -> Places:
        at = (
            ("hukou", inputs.hukou),
            ("applying", inputs.applying),
            ("temporary", inputs.applying if inputs.temporary else None),
        )
        return Places(home=inputs.applying, at=at)

    def may_dispatch(self, inputs: IdCardInputs, service: str) -> bool:
        return True


class IdCardInputsAsDict(Transcoding):
    type = IdCardInputs
    name = "id_card_inputs"

    def encode(self, obj: IdCardInputs) -> dict[str, Any]:
        return {"hukou": obj.hukou, "applying": obj.applying, "temporary": obj.temporary}

    def decode(self, data: Any) -> IdCardInputs:
        return IdCardInputs(data["hukou"], data["applying"], bool(data["temporary"]))
