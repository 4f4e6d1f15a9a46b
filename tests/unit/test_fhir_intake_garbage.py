"""Hospital FHIR intake: any input at all ends in a ParsedMessage or an IntakeRejectedError."""

from __future__ import annotations

import copy
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from integrations.hospital.birth_notification import (
    IntakeRejectedError,
    ParsedMessage,
    parse_message,
)

FIXTURES = Path(__file__).parents[1] / "fixtures" / "fhir"
MESSAGE = b'{"resourceType": "Bundle", "type": "message", "entry": %s}'
NVSS = "http://nchs.cdc.gov/birth_submission"
GARBAGE: list[bytes] = [
    b"",
    b" ",
    b"[]",
    b"{}",
    b"null",
    b"1",
    b'"Bundle"',
    b"\xff\xfe\x00{",
    b"{'single': 'quotes'}",
    b'{"resourceType": 1}',
    b'{"resourceType": "Bundle"}',
    b'{"resourceType": "Bundle", "type": "message"}',
    b'{"resourceType": "Bundle", "type": "message", "entry": {}}',
    b'{"resourceType": "Bundle", "type": ["message"]}',
    b'{"resourceType": "Bundle\\u0000", "type": "message"}',
    MESSAGE % b'"x"',
    MESSAGE % b"[1]",
    MESSAGE % b"[{}]",
    MESSAGE % b'[{"resource": []}]',
    MESSAGE % b'[{"resource": {}}]',
    MESSAGE % b'[{"resource": {"resourceType": "MessageHeader"}}]',
    MESSAGE % b'[{"resource": {"resourceType": "MessageHeader", "eventUri": 7}}]',
    MESSAGE % b'[{"resource": {"resourceType": "MessageHeader", "eventCoding": []}}]',
    MESSAGE
    % b'[{"resource": {"resourceType": "MessageHeader"}}, {"resource": {"resourceType": 5}}]',
    MESSAGE % b'[{"resource": {"resourceType": "MessageHeader"}}, {"resource": {"resourceType": '
    b'"HumanName"}}]',
    MESSAGE % b'[{"resource": {"resourceType": "MessageHeader", "id": "%s"}}]' % (b"a" * 5000),
    b'{"resourceType": "Bundle", "type": "message", "total": 123456789012345678901234567890}',
    b'{"resourceType": "Bundle", "type": "message", "total": 1e400}',
    b'{"resourceType": "Bundle", "type": "message", "total": NaN}',
    b"[" * 5000 + b"]" * 5000,
    b'{"a":' * 2000 + b"1" + b"}" * 2000,
]


def _nested_bundles(depth: int) -> bytes:
    """A message whose second entry nests document Bundles `depth` deep (orjson: 1024 levels)."""
    head = b'{"resourceType": "Bundle", "type": "document", "entry": [{"resource": '
    document = head * depth + b'{"resourceType": "Patient"}' + b"}]}" * depth
    header = b'{"resourceType": "MessageHeader", "id": "m1", "eventUri": "%s"}' % NVSS.encode()
    return MESSAGE % (b'[{"resource": %s}, {"resource": %s}]' % (header, document))


def _outcome(raw: bytes) -> ParsedMessage | IntakeRejectedError:
    try:
        outcome: ParsedMessage | IntakeRejectedError = parse_message(raw)
    except IntakeRejectedError as exc:
        outcome = exc
    if isinstance(outcome, IntakeRejectedError):
        assert outcome.status in (400, 422)
        assert outcome.issues
        assert all(isinstance(i.diagnostics, str) and i.diagnostics for i in outcome.issues)
    return outcome


@pytest.mark.parametrize(
    "raw", [*GARBAGE, _nested_bundles(50), _nested_bundles(300)], ids=range(len(GARBAGE) + 2)
)
def test_garbage_is_rejected_cleanly(raw: bytes) -> None:
    assert isinstance(_outcome(raw), IntakeRejectedError)


def test_not_json_is_400_located_at_the_whole_message() -> None:
    outcome = _outcome(b"\xff\xfe")
    assert isinstance(outcome, IntakeRejectedError)
    assert (outcome.status, outcome.issues[0].code, outcome.issues[0].expression) == (
        400,
        "structure",
        "Bundle",
    )


def _paths(node: Any, path: tuple[str | int, ...] = ()) -> Iterator[tuple[str | int, ...]]:
    yield path
    items = (
        node.items()
        if isinstance(node, dict)
        else enumerate(node)
        if isinstance(node, list)
        else []
    )
    for key, child in items:
        yield from _paths(child, (*path, key))


# orjson writes integers up to 64 bits; bigger ones are in GARBAGE as raw bytes.
REPLACEMENTS: list[Any] = [
    None,
    0,
    -1,
    2**63 - 1,
    1e300,
    "",
    "x",
    [],
    {},
    [{}],
    True,
    {"resourceType": "Patient"},
]


def _mutants(name: str, count: int, seed: int) -> Iterator[bytes]:
    """Seeded random one-node mutations (replace or delete) of a fixture."""
    data = orjson.loads((FIXTURES / name).read_bytes())
    paths = [path for path in _paths(data) if path]
    rng = random.Random(seed)
    for _ in range(count):
        path, mutant = rng.choice(paths), copy.deepcopy(data)
        parent = mutant
        for key in path[:-1]:
            parent = parent[key]
        if rng.random() < 0.2:
            del parent[path[-1]]
        else:
            parent[path[-1]] = rng.choice(REPLACEMENTS)
        yield orjson.dumps(mutant)


@pytest.mark.parametrize("name", ["notification-full.json", "notification-void.json"])
def test_mutated_fixtures_never_crash(name: str) -> None:
    outcomes = [_outcome(raw) for raw in _mutants(name, count=30, seed=20261120)]
    assert any(isinstance(o, IntakeRejectedError) for o in outcomes)
