"""What the ledger stores is unchanged: the facts dict, the events' JSON bytes (written faster),
and zlib streams the library reads (compressed faster)."""

from __future__ import annotations

import dataclasses
import enum
import zlib
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any
from uuid import uuid4

import pytest
from eventsourcing.compressor import ZlibCompressor
from eventsourcing.persistence import DatetimeAsISO, DecimalAsStr, JSONTranscoder, UUIDAsHex

from adapters.settings import Settings
from bench.messages import birth_facts, message
from domain.births.facts import BirthFacts, Parent
from domain.ledger import CaseLedger
from engine.encoding import FastJSONTranscoder, FastZlibCompressor
from integrations.hospital.birth_notification import parse_message


def _asdict_reference(facts: BirthFacts) -> dict[str, Any]:
    """The former `to_dict`: dataclasses.asdict, then the timestamp and the doses."""
    data = dataclasses.asdict(facts)
    data["born_at"] = facts.born_at.isoformat()
    data["birth_doses"] = list(facts.birth_doses)
    return data


def _facts() -> list[BirthFacts]:
    found = [birth_facts("encoding", i) for i in range(60)]
    base = found[0]
    found += [
        dataclasses.replace(base, father=None, birth_doses=()),
        dataclasses.replace(base, mother=Parent(), father=Parent(name="父")),
        dataclasses.replace(
            base,
            born_at=datetime(2026, 1, 2, 3, 4, 5, 678, tzinfo=timezone(timedelta(hours=-3))),
            child_name=None,
            multiple_birth=2,
            apgar_1=None,
            birth_doses=("hepb", "bcg"),
        ),
    ]
    return found + [parse_message(message("encoding", i).body).command.facts for i in range(5)]  # type: ignore[union-attr]


@pytest.mark.parametrize("facts", _facts(), ids=lambda f: f"{f.record_ref}")
def test_to_dict_is_what_asdict_gave(facts: BirthFacts) -> None:
    ours, reference = facts.to_dict(), _asdict_reference(facts)
    assert ours == reference
    assert list(ours) == list(reference)  # the same key order: the same stored JSON
    assert list(ours["mother"]) == list(reference["mother"])
    assert BirthFacts.from_dict(ours) == facts


def test_the_faster_compression_reads_both_ways() -> None:
    ours, library = FastZlibCompressor(), ZlibCompressor()
    for i in range(5):
        state = message("zlib", i).body * 2
        assert library.decompress(ours.compress(state)) == state
        assert ours.decompress(library.compress(state)) == state
        assert ours.compress(state) == zlib.compress(state, 3)


def test_the_applications_use_it_and_read_events_stored_with_the_library_default() -> None:
    env = Settings(persistence="memory").app_env(CaseLedger.name)
    assert env["COMPRESSOR_TOPIC"] == "engine.encoding:FastZlibCompressor"
    ledger = CaseLedger(env=env)
    assert isinstance(ledger.mapper.compressor, FastZlibCompressor)
    parsed = parse_message(message("zlib-app", 1).body)
    outcome = ledger.notify_birth(parsed.command)  # type: ignore[arg-type]
    stored = ledger.recorder.select_events(outcome.case_id)
    before = CaseLedger(env=env | {"COMPRESSOR_TOPIC": "eventsourcing.compressor:ZlibCompressor"})
    for item in stored:
        event = ledger.mapper.to_domain_event(item)
        assert before.mapper.to_domain_event(item) == event
        again = before.mapper.to_stored_event(event)  # stored with the library's level 6
        assert ledger.mapper.to_domain_event(again) == event


class _Colour(enum.StrEnum):
    RED = "red"


class _Level(enum.IntEnum):
    HIGH = 3


def _library_and_ours() -> tuple[JSONTranscoder, FastJSONTranscoder]:
    library, ours = JSONTranscoder(), FastJSONTranscoder()
    for transcoder in (library, ours):
        for transcoding in (UUIDAsHex(), DecimalAsStr(), DatetimeAsISO()):
            transcoder.register(transcoding)
    return library, ours


EVERY_CHARACTER = "".join(chr(c) for c in range(0x110000) if not 0xD800 <= c < 0xE000)
STATES: list[object] = [
    {"raw_message": message("bytes", 1).body.decode(), "case_id": uuid4(), "kind": "notify"},
    {"facts": birth_facts("bytes", 2).to_dict(), "at": datetime.now(UTC)},
    {"text": EVERY_CHARACTER, "quotes": '"\\\n\t\u2028/', "empty": {}, "none": [None, [], {}]},
    {"nested": [{"id": uuid4(), "when": [datetime(2026, 1, 1)], "d": Decimal("1.50")}]},
    {"ints": [0, -1, 2**63 - 1, -(2**63), 2**64 - 1], "bools": [True, False]},
    {"big": 2**64},
    {"small": -(2**63) - 1},
    {"float": 1e16, "nan": float("nan")},
    {"tuple": (1, 2)},
    {"colour": _Colour.RED, "level": _Level.HIGH},
    {1: "a non-string key"},
    {"date": date(2026, 1, 1)},
    {"object": object()},
    ["a", "list", "at the top"],
    "a string",
]


def _encoded(transcoder: JSONTranscoder, state: object) -> object:
    try:
        return transcoder.encode(state)
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"


@pytest.mark.parametrize("state", STATES, ids=range(len(STATES)))
def test_the_fast_transcoder_writes_the_library_bytes(state: object) -> None:
    library, ours = _library_and_ours()
    written = _encoded(ours, state)
    assert written == _encoded(library, state)
    if isinstance(written, bytes):
        assert repr(library.decode(written)) == repr(ours.decode(written))


def test_a_circular_state_fails_as_in_the_library() -> None:
    library, ours = _library_and_ours()
    state: dict[str, object] = {}
    state["self"] = state
    assert (
        _encoded(ours, state)
        == _encoded(library, state)
        == "ValueError: Circular reference detected"
    )


def test_the_applications_write_with_it() -> None:
    ledger = CaseLedger(env=Settings(persistence="memory").app_env(CaseLedger.name))
    assert type(ledger.mapper.transcoder) is FastJSONTranscoder
    assert set(ledger.mapper.transcoder.names) >= {"uuid_hex", "datetime_iso", "decimal_str"}
