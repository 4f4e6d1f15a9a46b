"""Fixtures shared by the integration tests (the stores come from tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from adapters.bootstrap import PROJECTIONS, Container
from adapters.views import LedgerProjections, build_projections


@pytest.fixture
def projections(container: Container) -> Iterator[LedgerProjections]:
    """The four projections on the container's own store, closed after the test."""
    built = build_projections(container.settings, container.ledger, PROJECTIONS)
    yield built
    built.close()
