"""How the kernel's values are stored in events, and the applications' hook that registers them.

Each value is written as `{"_type_": name, "_data_": dict}`, where the dict is what version 1
of its events stored in place of the value, so an upcast is the transcoding's `decode`.
Every application that decodes these events registers them: the CaseLedger writes them and
the Orchestrator, a follower, reads its leader's events with its own transcoder.
"""

from __future__ import annotations

from typing import Any, ClassVar

from eventsourcing.persistence import JSONTranscoder, Transcoding

from domain.kernel.disclosure import DispatchPayload
from domain.kernel.results import Result
from domain.kernel.routing import Route


class RouteAsDict(Transcoding):
    type = Route
    name = "route"

    def encode(self, obj: Route) -> dict[str, Any]:
        return obj.to_dict()

    def decode(self, data: Any) -> Route:
        return Route.from_dict(data)


class DispatchPayloadAsDict(Transcoding):
    type = DispatchPayload
    name = "dispatch_payload"

    def encode(self, obj: DispatchPayload) -> dict[str, Any]:
        return obj.to_dict()

    def decode(self, data: Any) -> DispatchPayload:
        return DispatchPayload.from_dict(data)


class ResultAsDict(Transcoding):
    type = Result
    name = "result"

    def encode(self, obj: Result) -> dict[str, str]:
        return obj.to_dict()

    def decode(self, data: Any) -> Result:
        return Result.from_dict(data)


ROUTE = RouteAsDict()
DISPATCH_PAYLOAD = DispatchPayloadAsDict()
RESULT = ResultAsDict()
KERNEL_TRANSCODINGS: tuple[Transcoding, ...] = (ROUTE, DISPATCH_PAYLOAD, RESULT)


class RegistersTranscodings:
    """An application mixin: registers `transcodings` besides the library's own."""

    transcodings: ClassVar[tuple[Transcoding, ...]] = KERNEL_TRANSCODINGS

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)  # type: ignore[misc]
        for transcoding in self.transcodings:
            transcoder.register(transcoding)
