"""The CaseLedger's read models on the configured store, from the composition root's registry.

The engine builds and runs any registered (projection, view) pair (engine/projection_runner.py);
here the store is chosen from the settings and case_status is given the families' sealing key.
Views are reached by name (`get`); the typed accessors below serve the ones the API reads.
"""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path
from typing import Any, cast

from eventsourcing.application import Application
from eventsourcing.sqlite import SQLiteDatastore

from adapters import pool
from adapters.case_documents import index_key, sealer_for
from adapters.settings import Settings
from engine.memory import memory_view
from engine.postgres_views import postgres_view
from engine.projection_runner import Projections, Registry
from engine.sqlite_views import sqlite_view
from engine.view import TableView
from projections.applicant_cases import ApplicantCasesProjection, ApplicantCasesView
from projections.case_status import CaseStatusProjection, CaseStatusView
from projections.flows import FlowsProjection, FlowsView
from projections.locality_stats import LocalityStatsProjection, LocalityStatsView
from projections.matters import MattersProjection, MattersView
from projections.office_feed import OfficeFeedProjection, OfficeFeedView
from projections.office_queue import OfficeQueueProjection, OfficeQueueView
from projections.office_search import OfficeSearchProjection, OfficeSearchView
from projections.remote_window_sessions import (
    RemoteWindowSessionsProjection,
    RemoteWindowSessionsView,
)
from projections.routing_desk import RoutingDeskProjection, RoutingDeskView

SEARCH_LABEL = b"newborn-ledger/office-search/v1"


class LedgerProjections(Projections):
    """The registered projections, with typed access to those the API and jobs read."""

    @property
    def case_status(self) -> CaseStatusProjection:
        return cast(CaseStatusProjection, self.get("case_status"))

    @property
    def office_queue(self) -> OfficeQueueProjection:
        return cast(OfficeQueueProjection, self.get("office_queue"))

    @property
    def locality_stats(self) -> LocalityStatsProjection:
        return cast(LocalityStatsProjection, self.get("locality_stats"))

    @property
    def flows(self) -> FlowsProjection:
        return cast(FlowsProjection, self.get("flows"))

    @property
    def remote_window_sessions_view(self) -> RemoteWindowSessionsView:
        projection = cast(RemoteWindowSessionsProjection, self.get("remote_window_sessions"))
        return projection.view

    @property
    def routing_desk(self) -> RoutingDeskProjection:
        return cast(RoutingDeskProjection, self.get("routing_desk"))

    @property
    def routing_desk_view(self) -> RoutingDeskView:
        return self.routing_desk.view

    @property
    def case_status_view(self) -> CaseStatusView:
        return self.case_status.view

    @property
    def office_queue_view(self) -> OfficeQueueView:
        return self.office_queue.view

    @property
    def locality_stats_view(self) -> LocalityStatsView:
        return self.locality_stats.view

    @property
    def flows_view(self) -> FlowsView:
        return self.flows.view

    @property
    def office_feed(self) -> OfficeFeedProjection:
        return cast(OfficeFeedProjection, self.get("office_feed"))

    @property
    def office_feed_view(self) -> OfficeFeedView:
        return self.office_feed.view

    @property
    def applicant_cases_view(self) -> ApplicantCasesView:
        return cast(ApplicantCasesProjection, self.get("applicant_cases")).view

    @property
    def matters_view(self) -> MattersView:
        return cast(MattersProjection, self.get("matters")).view

    @property
    def office_search_view(self) -> OfficeSearchView:
        return cast(OfficeSearchProjection, self.get("office_search")).view


def build_projections(
    settings: Settings, app: Application[Any], registry: Registry
) -> LedgerProjections:
    """The registered projections of `app` (the CaseLedger) with views on the configured
    store; case_status seals the families' documents with the configured key."""
    projections = _on_store(settings, app, registry)
    sealer = sealer_for(settings)
    projections.case_status.view.sealer = sealer
    projections.office_feed.view.sealer = sealer  # dispatches carry personal data
    projections.applicant_cases_view.sealer = sealer  # tracking codes as digests
    if settings.cipher_key:  # the parents' IDs indexed under keys of the cipher keys
        keys = [settings.cipher_key, *settings.old_cipher_keys]
        projections.office_search_view.index_keys = tuple(search_key(k) for k in keys)
    return projections


def search_key(cipher_key: str) -> bytes:
    """office_search's digest key of a cipher key: another label than the case_status
    index's, so a digest in one view never matches one in the other."""
    return hmac.new(index_key(cipher_key), SEARCH_LABEL, hashlib.sha256).digest()


def _on_store(settings: Settings, app: Application[Any], registry: Registry) -> LedgerProjections:
    if settings.persistence == "sqlite":
        return _on_sqlite(settings, app, registry)
    if settings.persistence == "postgres":
        return _on_postgres(settings, app, registry)
    return LedgerProjections.built(app, registry, _in_memory)


def _in_memory(view: type[TableView]) -> TableView:
    made: TableView = memory_view(view)()
    return made


def _on_sqlite(settings: Settings, app: Application[Any], registry: Registry) -> LedgerProjections:
    """One file per projection next to the applications' (the library's SQLite tracking
    table has no prefix, so views sharing a file would share one position)."""
    folder = Path(settings.sqlite_dir)
    folder.mkdir(parents=True, exist_ok=True)
    stores: list[SQLiteDatastore] = []

    def on_sqlite(view: type[TableView]) -> TableView:
        stores.append(SQLiteDatastore(str(folder / f"projection_{view.name}.sqlite")))
        made: TableView = sqlite_view(view)(stores[-1])
        return made

    projections = LedgerProjections.built(app, registry, on_sqlite)
    projections.closers += [s.close for s in stores]
    return projections


def _on_postgres(
    settings: Settings, app: Application[Any], registry: Registry
) -> LedgerProjections:
    """The process's one pool, shared with the applications (adapters/pool.py)."""
    datastore = pool.acquire(settings.postgres)
    create = settings.create_tables

    def on_postgres(view: type[TableView]) -> TableView:
        made: TableView = postgres_view(view)(datastore, create_tables=create)
        return made

    projections = LedgerProjections.built(app, registry, on_postgres)
    projections.closers.append(lambda: pool.release(datastore))
    return projections
