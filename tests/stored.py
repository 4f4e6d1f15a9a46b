"""Stored events as an earlier version of their class wrote them, for upcast tests."""

from __future__ import annotations

from typing import Any

import orjson
from eventsourcing.persistence import Mapper, StoredEvent


def revived_as_v1(mapper: Mapper[Any], event: Any, *fields: str) -> Any:
    """`event` stored by version 1 of its class (no class_version, none of `fields`), then
    read back through the mapper: what the upcasts make of it. The event must be of version 2."""
    stored = mapper.to_stored_event(event)
    compressor = mapper.compressor
    plain = compressor.decompress(stored.state) if compressor else stored.state
    state = orjson.loads(plain)
    assert state.pop("class_version") == 2
    for name in fields:
        del state[name]
    old = orjson.dumps(state)
    old_stored = StoredEvent(
        stored.originator_id,
        stored.originator_version,
        stored.topic,
        compressor.compress(old) if compressor else old,
    )
    return mapper.to_domain_event(old_stored)
