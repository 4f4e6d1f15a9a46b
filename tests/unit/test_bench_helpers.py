"""The benchmark's pure helpers: percentiles, figures, the table, and its message generator.

No timings here: the benchmarks themselves run with `python -m bench.run`, never under pytest.
"""

from __future__ import annotations

import math

import orjson
import pytest

from bench import asgi, ingest, lifecycle, loadgen, reads, rebuild, run, synthetic, wrk
from bench.loadgen import request_bytes
from bench.messages import birth_facts, message
from bench.stats import Figure, percentile, table
from integrations.hospital.birth_notification import parse_message


def test_percentile_by_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == 50.0
    assert percentile(values, 99) == 99.0
    assert percentile(values, 100) == 100.0
    assert percentile([3.0], 99) == 3.0
    assert math.isnan(percentile([], 50))


def test_percentile_rejects_out_of_range() -> None:
    with pytest.raises(ValueError, match="0-100"):
        percentile([1.0], 101)


def test_figure_checks_value_and_ratio_targets() -> None:
    fast = Figure("ingest", "msg/s", 400, 500, target=300, target_ratio=0.75)
    slow = Figure("ingest", "msg/s", 400, 600, target=300, target_ratio=0.75)
    assert fast.ratio == pytest.approx(0.8)
    assert fast.met is True
    assert slow.met is False  # 0.67 of the baseline
    assert Figure("p99", "ms", 12, target=10, kind="max").met is False
    assert Figure("info", "ms", 12).met is None
    assert Figure("soak", "%", None, target=10, kind="max").met is None


def test_table_has_one_row_per_figure_and_the_six_columns() -> None:
    text = table([Figure("rebuild", "ev/s", 60_000, 80_000, "raw", target=50_000)])
    header, rule, row = text.splitlines()
    assert [c.strip() for c in header.strip("|").split("|")] == run_header()
    assert set(rule) <= {"|", "-"}
    assert "60,000 ev/s" in row
    assert "80,000 (raw)" in row
    assert "0.75" in row
    assert row.rstrip(" |").endswith("yes")


def run_header() -> list[str]:
    return ["figure", "ours", "baseline", "ratio", "target", "met?"]


def test_messages_are_about_10_kb_distinct_and_accepted_by_the_intake() -> None:
    first, second = message("t", 1), message("t", 2)
    assert 9_000 <= len(first.body) <= 11_000
    assert first.message_id != second.message_id
    assert first.record_ref != second.record_ref
    parsed = parse_message(first.body)
    assert parsed.command.facts == birth_facts("t", 1)  # type: ignore[union-attr]
    assert orjson.loads(first.body)["id"] == first.message_id


def test_raw_requests_carry_their_length() -> None:
    raw = request_bytes("POST", "/fhir/$process-message", {"X": "1"}, b"{}")
    assert raw.startswith(b"POST /fhir/$process-message HTTP/1.1\r\n")
    assert b"Content-Length: 2\r\n" in raw
    assert raw.endswith(b"\r\n\r\n{}")


def test_commit_groups_split_rows_evenly() -> None:
    rows = [(b"", n, "t", b"") for n in range(10)]
    groups = list(lifecycle._commit_groups(rows, 3))
    assert [len(g) for g in groups] == [3, 3, 4]
    assert [r for g in groups for r in g] == rows


def test_tracking_codes_are_unique_and_in_the_alphabet() -> None:
    codes = {synthetic.tracking_code("rb", n) for n in range(1000)}
    assert len(codes) == 1000
    assert all(len(c) == 12 and set(c) <= set(synthetic.TRACKING_ALPHABET) for c in codes)


def test_modules_import() -> None:
    assert {asgi.BARE_PATH, ingest.PATH} == {"/bench/bare", "/fhir/$process-message"}
    assert loadgen.LOOPBACK == "127.0.0.1"
    assert rebuild.NOTIFIED.endswith("BirthCase.Notified")
    assert reads.CONCURRENCY > 0
    assert wrk.LUA
    assert run.QUICK.soak_s < run.FULL.soak_s
