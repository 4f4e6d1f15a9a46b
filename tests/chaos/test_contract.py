"""bench/contract.py's reading of its figures (the run itself is a step of .ci/run)."""

from __future__ import annotations

from bench import contract

METRICS = """# HELP newborn_ledger_http_requests_total HTTP requests
# TYPE newborn_ledger_http_requests_total counter
newborn_ledger_http_requests_total{method="GET",route="/cases/{case_id:uuid}",status="404"} 120.0
newborn_ledger_http_requests_total{method="POST",route="/track",status="201"} 3.0
newborn_ledger_http_requests_created{method="POST",route="/track",status="201"} 1.7e+09
"""


def test_requests_served_sums_every_route_and_status_even_with_braces_in_labels() -> None:
    assert contract.requests_served(METRICS) == 123


def test_test_cases_reads_schemathesis_summary() -> None:
    assert contract.test_cases("Test cases:\n  2,751 generated, 2,751 passed\n") == 2751
    assert contract.test_cases("nothing ran") is None
