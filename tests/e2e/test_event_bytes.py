"""Every event a whole case writes is stored as the very bytes the library's JSON transcoder
writes: the every-role journey runs again with each `FastJSONTranscoder.encode` compared."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from eventsourcing.persistence import JSONTranscoder

from engine.encoding import FastJSONTranscoder
from tests.e2e import test_every_role_journey as journey

client, settings = journey.client, journey.settings  # the journey's fixtures, for its test here
test_every_event_of_a_journey_encodes_as_the_library = (
    journey.test_a_cross_province_case_through_every_role
)
SEEN: list[str] = []


@pytest.fixture(autouse=True)
def compared(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    fast = FastJSONTranscoder.encode

    def encode(self: FastJSONTranscoder, obj: Any) -> bytes:
        written = fast(self, obj)
        assert written == JSONTranscoder.encode(self, obj)
        if isinstance(obj, dict):
            SEEN.append(",".join(sorted(map(str, obj))))
        return written

    monkeypatch.setattr(FastJSONTranscoder, "encode", encode)
    SEEN.clear()
    yield
    assert len(set(SEEN)) >= 15  # many kinds of event went through the comparison
