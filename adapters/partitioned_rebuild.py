"""case_status rebuilt in parts, one process per part (engine/partitioned_rebuild.py): each
part's process builds the CaseLedger and the registered projections from the settings and
applies the events of its own cases (projections/by_case.py)."""

from __future__ import annotations

import logging
from functools import partial

from adapters.settings import ConfigError, Settings
from adapters.views import build_projections
from domain.ledger import CaseLedger
from engine import partitioned_rebuild as engine
from engine.partitioned_rebuild import (
    CannotRebuildInPartsError,
    PartDone,
    PartsDone,
    PartStoppedError,
    part_name,
)
from engine.postgres_views import PostgresTables
from engine.projection_runner import REBUILD_BATCH, Progress, Projections, Registry
from projections.by_case import CasePart

__all__ = [
    "PartDone",
    "PartStoppedError",
    "PartsDone",
    "can_rebuild_in_parts",
    "part_name",
    "partitioned_view",
    "rebuild_in_parts",
    "run_part",
]


def partitioned_view(projections: Projections, name: str) -> PostgresTables:
    """The view of `name` if it can be rebuilt in parts, else a ConfigError saying why."""
    try:
        return engine.partitioned_view(projections, name)
    except CannotRebuildInPartsError as refused:
        raise ConfigError(str(refused)) from None


def can_rebuild_in_parts(projections: Projections, name: str) -> bool:
    """Whether `partitioned_view` accepts `name` on this store."""
    return engine.can_rebuild_in_parts(projections, name)


def rebuild_in_parts(
    settings: Settings,
    projections: Projections,
    name: str,
    parts: int,
    progress: Progress | None = None,
    *,
    batch: int = REBUILD_BATCH,
    stop_after_s: float | None = None,
) -> PartsDone:
    """Empty `name`'s view and replay the log into it with `parts` processes (see the engine's
    `rebuild_in_parts`); a view, store or number of parts that cannot is a ConfigError."""
    child = settings.with_changes(create_tables=False)  # made by this process, once
    run = partial(run_part, child, projections.registry, name)
    try:
        return engine.rebuild_in_parts(
            projections, name, parts, run, progress, batch=batch, stop_after_s=stop_after_s
        )
    except CannotRebuildInPartsError as refused:
        raise ConfigError(str(refused)) from None


def run_part(
    settings: Settings,
    registry: Registry,
    name: str,
    tracking_name: str,
    part: int,
    parts: int,
    head: int,
    batch: int = REBUILD_BATCH,
    stop_at: float | None = None,
) -> PartDone:
    """One part, in its own process: its cases' events from the emptied view up to `head`
    (or until `stop_at`, at a page boundary)."""
    logging.basicConfig(level=logging.WARNING)
    app = CaseLedger(env=settings.app_env(CaseLedger.name))
    projections = build_projections(settings, app, registry)
    try:
        cases = CasePart(part, parts)
        return engine.apply_part(
            projections, name, tracking_name, cases, part, head, batch, stop_at
        )
    finally:
        projections.close()
        app.close()
