"""The fuzz run (issue #16): mutated hospital messages posted over HTTP to the app on a SQLite
store. Every answer must be below 500, and every 4xx an OperationOutcome whose every issue is
located (a FHIRPath `expression`).

The seeds are the profile's fixtures (tests/fixtures/fhir) and bench messages; each mutated
message gets its own MessageHeader.id and birth record key first (so that it is judged on its
content, not refused as a repeat), then one to three mutations: a field dropped, an element
duplicated, a value retyped, a huge string, NUL and control characters, a wrong date, deep
nesting, a hostile record key or message id (NUL, controls, thousands of characters), or the
bytes cut or flipped. Reproducible from (seed, number):

    .venv/bin/python -m bench.fuzz                       # 10,000 messages
    .venv/bin/python -m bench.fuzz --count 1000 --seed 7
    .venv/bin/python -m bench.fuzz --postgres            # on PostgreSQL (bench database)
    .venv/bin/python -m bench.fuzz --show 123            # message number 123, as sent
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import json
import random
import sys
import tempfile
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from starlette.testclient import TestClient

from adapters.bootstrap import Container, build
from adapters.settings import Settings
from api.app import create_app
from bench import pgdb
from bench.messages import HOSPITAL, message

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures" / "fhir"
FHIR = "application/fhir+json"
BAD_DATES = (
    "2099-01-01", "9999-12-31", "0001-01-01", "1850-06-01", "2026-02-30", "2026-13-01",
    "20261120", "2026-11-20T25:61:00+08:00", "", "yesterday", "2026-11-20T08:30:00",
    "-2026-11-20", "2026-11-20T08:30:00+99:00",
)  # fmt: skip
CONTROL = "\x00\x01\x07\x08\x0b\x0c\x1b\x7f\u2028\u202e\ufeff"
Json = Any


def seeds() -> list[Json]:
    """The fixtures (every kind of message, good and bad) and three bench messages."""
    found = [json.loads(p.read_text()) for p in sorted(FIXTURES.glob("*.json"))]
    return found + [orjson.loads(message("fuzz", i).body) for i in range(3)]


def unique(doc: Json, n: int) -> Json:
    """The message with its own header id and birth record key (MR identifier)."""

    def visit(node: Json) -> None:
        if isinstance(node, dict):
            if node.get("resourceType") == "MessageHeader":
                node["id"] = f"fuzz-{n:06d}"
            codes = [c.get("code") for c in _get(node, "type", "coding") or []]
            if "MR" in codes and "value" in node:
                node["value"] = f"FZ{n:08d}"
            for value in node.values():
                visit(value)
        elif isinstance(node, list):
            for value in node:
                visit(value)

    doc = copy.deepcopy(doc)
    visit(doc)
    return doc


def _get(node: Json, *keys: str) -> Json:
    for key in keys:
        node = node.get(key) if isinstance(node, dict) else None
    return node


def _slots(doc: Json) -> list[tuple[Json, Any]]:
    """Every (container, key or index) in the document, root excluded."""
    found: list[tuple[Json, Any]] = []
    stack = [doc]
    while stack:
        node = stack.pop()
        items = node.items() if isinstance(node, dict) else enumerate(node)
        for key, value in items:
            found.append((node, key))
            if isinstance(value, dict | list):
                stack.append(value)
    return found


def _strings(doc: Json) -> list[tuple[Json, Any]]:
    return [(c, k) for c, k in _slots(doc) if isinstance(c[k], str)]


def drop(doc: Json, rng: random.Random) -> str:
    container, key = rng.choice(_slots(doc))
    del container[key]
    return f"drop {key!r}"


def duplicate(doc: Json, rng: random.Random) -> str:
    lists = [(c, k) for c, k in _slots(doc) if isinstance(c[k], list) and c[k]]
    if not lists:
        return drop(doc, rng)
    container, key = rng.choice(lists)
    items = container[key]
    items.append(copy.deepcopy(rng.choice(items)))
    return f"duplicate in {key!r}"


def retype(doc: Json, rng: random.Random) -> str:
    container, key = rng.choice(_slots(doc))
    value = container[key]
    replacements: list[Json] = [
        None, True, 0, -1, 1.5, 10**30, "", "x", [], {}, [value], {"value": value},
        str(value)[:50],
    ]  # fmt: skip
    container[key] = rng.choice(replacements)
    return f"retype {key!r}"


def huge(doc: Json, rng: random.Random) -> str:
    container, key = rng.choice(_strings(doc) or _slots(doc))
    size = rng.choice((300, 2_800, 9_000, 20_000, 200_000))
    container[key] = rng.choice(("9", "a", "字", "1a-")) * size
    return f"huge {key!r} ({size})"


def control(doc: Json, rng: random.Random) -> str:
    container, key = rng.choice(_strings(doc) or _slots(doc))
    text = str(container[key])
    cut = rng.randint(0, len(text))
    container[key] = text[:cut] + "".join(rng.choices(CONTROL, k=rng.randint(1, 3))) + text[cut:]
    return f"control characters in {key!r}"


def bad_date(doc: Json, rng: random.Random) -> str:
    dated = [(c, k) for c, k in _strings(doc) if c[k][:2] in ("19", "20") and "-" in c[k]]
    container, key = rng.choice(dated or _strings(doc) or _slots(doc))
    container[key] = rng.choice(BAD_DATES)
    return f"bad date in {key!r}"


def nest(doc: Json, rng: random.Random) -> str:
    container, key = rng.choice(_slots(doc))
    depth = rng.choice((3, 30, 300))
    value = container[key]
    for _ in range(depth):
        value = rng.choice(([value], {"extension": value}))
    container[key] = value
    return f"nest {key!r} {depth} deep"


def swap_type(doc: Json, rng: random.Random) -> str:
    typed = [(c, k) for c, k in _slots(doc) if k == "resourceType"]
    container, key = rng.choice(typed or _slots(doc))
    container[key] = rng.choice(
        ("Patient", "Bundle", "MessageHeader", "Observation", "Basic", "Nonsense", "patient")
    )
    return "swap resourceType"


def hostile_key(doc: Json, rng: random.Random) -> str:
    """The keys the views index (record key, message id) made long or given NUL/controls."""
    nodes = list({id(c): c for c, _ in _slots(doc) if isinstance(c, dict)}.values())
    keys = [(c, "value") for c in nodes if _is_record_key(c)]
    keys += [(c, "id") for c in nodes if c.get("resourceType") == "MessageHeader"]
    if not keys:
        return control(doc, rng)
    container, key = rng.choice(keys)
    text = str(container.get(key, ""))
    container[key] = rng.choice((text + "\x00", "\x00" + text, text * 400, text + "\x1b[0m",
                                 text[:3] + "\u202e" + text[3:], "9" * 5000))  # fmt: skip
    return f"hostile {key!r}"


def _is_record_key(node: dict[str, Json]) -> bool:
    codings = _get(node, "type", "coding")
    codes = (
        [c.get("code") for c in codings if isinstance(c, dict)] if isinstance(codings, list) else []
    )
    return "MR" in codes and "value" in node


MUTATIONS: tuple[Callable[[Json, random.Random], str], ...] = (
    drop, duplicate, retype, huge, control, bad_date, nest, swap_type, hostile_key,
)  # fmt: skip


def mutated(base: list[Json], seed: int, n: int) -> tuple[bytes, list[str]]:
    """Message number `n` of the run with `seed`: its bytes and what was done to it."""
    rng = random.Random(f"{seed}-{n}")
    doc = unique(rng.choice(base), n)
    done = [rng.choice(MUTATIONS)(doc, rng) for _ in range(rng.randint(1, 3)) if _slots(doc)]
    body = _dumps(doc, compact=rng.random() < 0.9)
    if rng.random() < 0.05:  # the bytes themselves: cut, or one flipped
        at = rng.randrange(max(1, len(body)))
        if rng.random() < 0.5:
            body, step = body[:at], f"cut at {at}"
        else:
            body, step = body[:at] + bytes([body[at] ^ 0x40]) + body[at + 1 :], f"flip {at}"
        done.append(step)
    return body, done


def _dumps(doc: Json, compact: bool) -> bytes:
    """orjson as hospitals' libraries write; json (spaced, ASCII escapes) for what orjson
    refuses (deeper than 254 levels, integers over 64 bits) and a tenth of the rest."""
    if compact:
        try:
            return orjson.dumps(doc)
        except TypeError:
            pass
    return json.dumps(doc).encode()


@dataclass
class FuzzFigures:
    messages: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    server_errors: list[str] = field(default_factory=list)  # reproductions: "seed n: what"
    unlocated: Counter[str] = field(default_factory=Counter)  # "status code" of unlocated 4xx
    unlocated_examples: dict[str, str] = field(default_factory=dict)
    # after the messages: what planning and each projection still had to process (all 0 when
    # nothing accepted stalls them)
    lags: dict[str, int] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        return {
            "messages": self.messages,
            "statuses": dict(sorted(self.statuses.items())),
            "5xx": len(self.server_errors),
            "server_errors": self.server_errors[:20],
            "unlocated_4xx": dict(self.unlocated),
            "unlocated_examples": self.unlocated_examples,
            "lags_after": self.lags,
        }


def unlocated(answer: Json) -> str | None:
    """Why a 4xx body is not a located OperationOutcome (None when it is)."""
    if not isinstance(answer, dict) or answer.get("resourceType") != "OperationOutcome":
        return "not an OperationOutcome"
    issues = answer.get("issue")
    if not isinstance(issues, list) or not issues:
        return "no issue"
    for issue in issues:
        expression = issue.get("expression") if isinstance(issue, dict) else None
        if not expression or not all(isinstance(e, str) and e for e in expression):
            return str(issue.get("code", "?")) if isinstance(issue, dict) else "bad issue"
    return None


def run(
    count: int, seed: int, folder: Path, start: int = 0, settings: Settings | None = None
) -> FuzzFigures:
    """Post `count` mutated messages (numbers start..start+count-1) to a fresh SQLite store
    in `folder`, or to the (empty) store of `settings`."""
    container = build(settings or Settings(persistence="sqlite", sqlite_dir=str(folder)))
    figures, base = FuzzFigures(), seeds()
    try:
        token = container.actors.add("hospital", HOSPITAL)[1]
        headers = {"Authorization": f"Bearer {token}", "Content-Type": FHIR}
        app = create_app(container, close_on_shutdown=False)
        with TestClient(app, raise_server_exceptions=False) as client:
            for n in range(start, start + count):
                body, done = mutated(base, seed, n)
                answer = client.post("/fhir/$process-message", content=body, headers=headers)
                _judge(figures, seed, n, done, answer.status_code, answer.content)
        figures.lags = lags_after_catching_up(container)
    finally:
        container.close()
    return figures


def lags_after_catching_up(container: Container) -> dict[str, int]:
    """Planning's and each projection's lag once the background work has run twice more."""
    for _ in range(2):
        with contextlib.suppress(Exception):  # a stalled view raises here: its lag tells
            container.tick()
    lags = {"planning": container.processing.planning.lag()}
    return lags | container.projections.lags()


def _judge(
    figures: FuzzFigures, seed: int, n: int, done: list[str], status: int, content: bytes
) -> None:
    figures.messages += 1
    figures.statuses[status] += 1
    where = f"seed {seed} n {n}: {'; '.join(done)}"
    if status >= 500:
        figures.server_errors.append(where)
    elif status >= 400:
        try:
            why = unlocated(orjson.loads(content))
        except orjson.JSONDecodeError:
            why = "not JSON"
        if why is not None:
            key = f"{status} {why}"
            figures.unlocated[key] += 1
            figures.unlocated_examples.setdefault(key, where)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.fuzz", description=__doc__)
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=16)
    parser.add_argument("--show", type=int, help="print message number SHOW and exit")
    parser.add_argument(
        "--postgres", action="store_true", help="on PostgreSQL (bench database, schema fuzz_run)"
    )
    args = parser.parse_args(argv)
    if args.show is not None:
        body, done = mutated(seeds(), args.seed, args.show)
        print("; ".join(done), file=sys.stderr)
        sys.stdout.buffer.write(body + b"\n")
        return 0
    settings = None
    if args.postgres:
        pgdb.fresh_schema("fuzz_run")
        settings = pgdb.settings("fuzz_run", pool_size=3)
    with tempfile.TemporaryDirectory(prefix="fuzz-") as folder:
        figures = run(args.count, args.seed, Path(folder), settings=settings)
    print(json.dumps(figures.summary(), indent=2, ensure_ascii=True))
    return 1 if figures.server_errors or figures.unlocated or any(figures.lags.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
