"""Stored events as an earlier version of their class wrote them, for upcast tests."""

from __future__ import annotations

from typing import Any

import orjson
from eventsourcing.persistence import Mapper, StoredEvent


def revived_as_v1(
    mapper: Mapper[Any], event: Any, *fields: str, plain: tuple[str, ...] = ()
) -> Any:
    """`event` stored by version 1 of its class (no class_version, none of `fields`, each of
    `plain` as the bare dict inside its transcoding's mark), then read back through the
    mapper: what the upcasts make of it. The event must be of version 2 or later (the
    fields later versions added are left: their upcasts set them again)."""
    return mapper.to_domain_event(stored_as_v1(mapper, event, *fields, plain=plain))


def stored_as_v1(
    mapper: Mapper[Any], event: Any, *fields: str, plain: tuple[str, ...] = ()
) -> StoredEvent:
    """`event` (or a snapshot) as version 1 of its class stored it: see `revived_as_v1`."""
    stored = mapper.to_stored_event(event)
    compressor = mapper.compressor
    state = orjson.loads(compressor.decompress(stored.state) if compressor else stored.state)
    assert state.pop("class_version") >= 2
    for name in fields:
        del state[name]
    for name in plain:
        if state[name] is not None:
            state[name] = state[name]["_data_"]
    old = orjson.dumps(state)
    return StoredEvent(
        stored.originator_id,
        stored.originator_version,
        stored.topic,
        compressor.compress(old) if compressor else old,
    )
