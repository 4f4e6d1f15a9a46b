"""Stored events to domain events for projections: the mapper's result, decoded with orjson."""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any, cast

import orjson
from eventsourcing.persistence import (
    JSONTranscoder,
    Mapper,
    StoredEvent,
    Transcoding,
    find_id_convertor,
)
from eventsourcing.utils import resolve_topic

_MARK = b'"_type_"'  # states without it hold no transcoded value: nothing to revive


class Decoder:
    """`Mapper.to_domain_event`, faster: the library's JSON decoder calls a Python hook for
    every JSON object; here orjson parses the state and a walk revives the transcoded values
    (`{"_type_": name, "_data_": data}`) exactly as the hook would. Anything unusual (a
    cipher, another transcoder, JSON orjson refuses, an unknown transcoding) goes through the
    mapper itself, so the two always give equal events."""

    def __init__(self, mapper: Mapper[Any]) -> None:
        self._mapper = mapper
        transcoder = mapper.transcoder
        self._fast = isinstance(transcoder, JSONTranscoder) and mapper.cipher is None
        self._names: dict[str, Transcoding] = (
            transcoder.names if isinstance(transcoder, JSONTranscoder) else {}
        )
        compressor = mapper.compressor
        self._plain = compressor.decompress if compressor is not None else bytes

    def __call__(self, stored: StoredEvent) -> Any:
        if self._fast:
            try:
                return self._decode(stored)
            except Exception:  # the mapper decodes it, or raises its own error
                pass
        return self._mapper.to_domain_event(stored)

    def _decode(self, stored: StoredEvent) -> Any:
        cls = resolve_topic(stored.topic)
        plain = self._plain(stored.state)
        state: dict[str, Any] = orjson.loads(plain)
        marks = plain.count(_MARK)
        if marks and not self._revive_top(state, marks):
            self._revive_items(state)
        convert = find_id_convertor(cls, cast("Hashable", type(stored.originator_id)))
        state["originator_id"] = convert(stored.originator_id)
        state["originator_version"] = stored.originator_version
        version, class_version = state.pop("class_version", 1), getattr(cls, "class_version", 1)
        while version < class_version:
            getattr(cls, f"upcast_v{version}_v{version + 1}")(state)
            version += 1
        event = object.__new__(cls)
        object.__setattr__(event, "__dict__", state)
        return event

    def _revive_top(self, state: dict[str, Any], marks: int) -> bool:
        """Revives the top-level transcoded values (a timestamp, a case's facts, a route) when
        they are every mark in the state: then none holds another and no walk is needed.
        False, having changed nothing, when the walk must do it."""
        found = [
            key
            for key, item in state.items()
            if type(item) is dict and len(item) == 2 and "_type_" in item and "_data_" in item
        ]
        if len(found) != marks:
            return False
        names = self._names
        for key in found:
            item = state[key]
            state[key] = names[item["_type_"]].decode(item["_data_"])
        return True

    def _revive(self, value: Any) -> Any:
        if type(value) is list:
            for n, item in enumerate(value):
                if type(item) is dict or type(item) is list:
                    value[n] = self._revive(item)
            return value
        self._revive_items(value)
        if len(value) == 2 and "_type_" in value and "_data_" in value:
            return self._names[value["_type_"]].decode(value["_data_"])
        return value

    def _revive_items(self, obj: dict[str, Any]) -> None:
        for key, item in obj.items():
            if type(item) is dict or type(item) is list:
                obj[key] = self._revive(item)
