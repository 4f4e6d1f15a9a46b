"""The fuzz run, bounded (docs/operations.md, Reliability suite; the full run is
`python -m bench.fuzz`): mutated hospital messages over HTTP, 0 x 5xx, every 4xx located."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from adapters.bootstrap import PROJECTIONS
from bench import fuzz

COUNT = int(os.environ.get("NEWBORN_LEDGER_FUZZ_COUNT", "1000"))
# Whole-body refusals (not JSON, JSON but not a FHIR resource, not a message Bundle: 400
# `structure`; over the size limit: 413 `too-costly`, seen in the full run) answer an
# OperationOutcome issue with no expression: intake validation's to fix (issue #16), kept
# apart below as an expected failure until it does.
WHOLE_BODY = ("400 structure", "413 too-costly")
# Two messages with one record key (here both "9" x 5000) and other content: the second is
# refused 409 with an issue that has no expression (issue #16: "403 and 409 answers carry no
# FHIRPath expression"), intake's to fix.
CONFLICT = "409 conflict"


# On PostgreSQL, a stretch of the same corpus that holds message 571: its record key ends in
# NUL, it is acknowledged, and every projection then fails on it (issue #16).
PG_START, PG_COUNT = 500, 200


@pytest.fixture(scope="module")
def figures(tmp_path_factory: pytest.TempPathFactory) -> fuzz.FuzzFigures:
    folder: Path = tmp_path_factory.mktemp("fuzz")
    return fuzz.run(COUNT, seed=16, folder=folder)


@pytest.fixture(scope="module")
def pg_figures(tmp_path_factory: pytest.TempPathFactory) -> fuzz.FuzzFigures:
    from tests.pg import postgres_settings

    settings = postgres_settings("fuzz")
    folder: Path = tmp_path_factory.mktemp("fuzz-pg")
    return fuzz.run(PG_COUNT, seed=16, folder=folder, start=PG_START, settings=settings)


def test_no_mutated_message_is_a_server_error(figures: fuzz.FuzzFigures) -> None:
    assert figures.messages == COUNT
    assert figures.server_errors == []
    assert sum(figures.statuses.values()) == COUNT
    # the corpus reaches past parsing: some are accepted, some break the profile's rules
    assert figures.statuses[200] > 0
    assert figures.statuses[422] > 0


def test_nothing_accepted_stalls_planning_or_a_view(figures: fuzz.FuzzFigures) -> None:
    assert set(figures.lags) == {"planning", *(p.name for p, _ in PROJECTIONS)}
    assert figures.lags == dict.fromkeys(figures.lags, 0)


@pytest.mark.postgres
def test_no_mutated_message_is_a_server_error_on_postgres(pg_figures: fuzz.FuzzFigures) -> None:
    assert pg_figures.messages == PG_COUNT
    assert pg_figures.server_errors == []
    assert pg_figures.statuses[200] > 0


@pytest.mark.postgres
def test_nothing_accepted_stalls_a_view_on_postgres(pg_figures: fuzz.FuzzFigures) -> None:
    assert pg_figures.lags == dict.fromkeys(pg_figures.lags, 0)


def test_every_4xx_is_an_operation_outcome_located_but_whole_body_refusals(
    figures: fuzz.FuzzFigures,
) -> None:
    others = {k: n for k, n in figures.unlocated.items() if k not in (*WHOLE_BODY, CONFLICT)}
    assert others == {}, figures.unlocated_examples


def test_whole_body_refusals_are_located(figures: fuzz.FuzzFigures) -> None:
    assert sum(figures.unlocated.get(k, 0) for k in WHOLE_BODY) == 0, figures.unlocated_examples


def test_conflicts_are_located(figures: fuzz.FuzzFigures) -> None:
    assert figures.unlocated.get(CONFLICT, 0) == 0, figures.unlocated_examples


def test_the_judge_finds_unlocated_issues_and_non_outcomes() -> None:
    located = {"resourceType": "OperationOutcome", "issue": [{"code": "value",
               "expression": ["Bundle.entry[2].resource.birthDate"]}]}  # fmt: skip
    assert fuzz.unlocated(located) is None
    assert fuzz.unlocated({"type": "/problems/x", "status": 400}) == "not an OperationOutcome"
    assert fuzz.unlocated({"resourceType": "OperationOutcome", "issue": []}) == "no issue"
    bare = {"resourceType": "OperationOutcome", "issue": [{"code": "conflict"}]}
    assert fuzz.unlocated(bare) == "conflict"
    empty = {"resourceType": "OperationOutcome", "issue": [{"code": "value", "expression": [""]}]}
    assert fuzz.unlocated(empty) == "value"


def test_the_full_corpus_can_be_made() -> None:
    """Every message of the full run (10,000) is made without the mutator failing."""
    base = fuzz.seeds()
    for n in range(10_000):
        body, done = fuzz.mutated(base, 16, n)
        assert body
        assert done


def test_the_corpus_is_reproducible_and_mutated() -> None:
    base = fuzz.seeds()
    first, done = fuzz.mutated(base, 16, 123)
    assert (first, done) == fuzz.mutated(base, 16, 123)
    assert done
    assert b'"fuzz-000123"' in first or any("cut" in d or "flip" in d for d in done)
