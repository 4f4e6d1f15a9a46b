"""The composition root: build(settings) wires the applications, the projections, the
background jobs and the process's switches onto the configured store. What the HTTP layer
and the command line call on the result is in adapters/facade.py."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.persistence import PersistenceError, RecordConflictError

from adapters import pg_start, store_keys
from adapters.audit_log import AuditLog
from adapters.audit_sql import audit_store
from adapters.case_documents import CaseDocuments, case_documents
from adapters.certificate_keys import SigningKeys, signing_keys
from adapters.certificates import CertificateIds, Certificates
from adapters.credentials import staff_accounts
from adapters.deliveries import Deliveries, build_deliveries
from adapters.document_files import DocumentFiles, document_files
from adapters.family_windows import CaseStatusWindows
from adapters.received_requests import DeskParked, OfficeQueueReceived
from adapters.scheduler import Background
from adapters.settings import ConfigError, Settings
from adapters.staff_sessions import SessionStore, session_store
from adapters.views import LedgerProjections, build_projections
from domain.kernel.actors import ActorDirectory
from domain.kernel.deadlines import DeadlineWatch, RoutingWatch, WindowWatch
from domain.kernel.staff_accounts import StaffAccounts
from domain.kernel.systems import RegistrySystems
from domain.ledger import CaseLedger
from domain.orchestrator import Orchestrator
from engine.parked import PARKED_STATE, ParkedRow
from engine.processing import Processing
from engine.projection_runner import Registry
from integrations.hospital import validation_cache
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

log = logging.getLogger(__name__)
A = TypeVar("A", bound=Application[Any])
# The CaseLedger's read models: (projection, view). Adding one is one line here.
PROJECTIONS: Registry = (
    (CaseStatusProjection, CaseStatusView),
    (OfficeQueueProjection, OfficeQueueView),
    (LocalityStatsProjection, LocalityStatsView),
    (FlowsProjection, FlowsView),
    (RoutingDeskProjection, RoutingDeskView),
    (OfficeFeedProjection, OfficeFeedView),
    (OfficeSearchProjection, OfficeSearchView),
    (ApplicantCasesProjection, ApplicantCasesView),
    (RemoteWindowSessionsProjection, RemoteWindowSessionsView),
    (MattersProjection, MattersView),
)


# The requests the deadline job watches: received ones (the handling office's clock), then
# those at their receiving window (its own clock; past it, DeemedAccepted), then decided ones
# asked to decide a correction or to revoke their result (the deciding office's clock), and
# those awaiting the family's answer to a one-time notice (its window; past it, withdrawn).
WATCHED = (
    "received",
    "dispatched",
    "correction-requested",
    "revocation-requested",
    "supplement-requested",
)


class StoreUnavailableError(Exception):
    """The configured event store cannot be reached or opened."""


@dataclass
class Container:
    """Everything a process needs, built once: applications and settings."""

    settings: Settings
    ledger: CaseLedger
    orchestrator: Orchestrator
    actors: ActorDirectory
    systems: RegistrySystems  # the offices' own systems (endpoints, secrets, their tokens)
    processing: Processing
    projections: LedgerProjections
    documents: CaseDocuments  # the family's case view, pre-rendered by case_status
    deliveries: Deliveries  # the office feed pushed to registry systems (integrations/registry)
    audit: AuditLog  # reads of personal data, group-committed (adapters/audit_log.py)
    files: DocumentFiles  # the families' uploaded documents (adapters/document_files.py)
    staff: StaffAccounts  # staff users who sign in to the pages (adapters/sign_in.py)
    sessions: SessionStore  # their sessions and the sign-in log
    keys: SigningKeys  # the offices' e-certificate signing keys (adapters/certificate_keys.py)
    _certificates: Certificates | None = field(default=None, init=False, repr=False)

    @property
    def certificates(self) -> Certificates:
        """The e-certificates of the ledger's decisions, signed with `keys` on reading: one
        per container (it keeps the status list), made again if the ledger or keys change."""
        found = self._certificates
        if found is None or found.ledger is not self.ledger or found.keys is not self.keys:
            ids = CertificateIds.of(self.settings.cipher_key, self.settings.old_cipher_keys)
            found = self._certificates = Certificates(self.ledger, self.keys, ids)
        return found

    def applications(self) -> list[Application[Any]]:
        return [self.ledger, self.orchestrator, self.actors, self.systems, self.staff]

    def tick(self) -> None:
        """One round of background work, as the worker runs it (tests call it directly).
        Planning and the projections are independent: one failing does not keep the other
        from its round; the first error is raised after both (the scheduler logs it)."""
        errors: list[Exception] = []
        for step in (self.processing.settle, self.projections.catch_up):
            try:
                step()
            except Exception as error:
                errors.append(error)
        if errors:
            raise errors[0]

    def parked(self, state: str | None = None) -> dict[str, list[ParkedRow]]:
        """What each view, and each process application (Orchestrator, CaseLedger), parked."""
        return self.projections.parked(state) | self.processing.parked(state)

    def parked_counts(self) -> dict[str, int]:
        """Parked and unresolved, by view or process application (for Prometheus)."""
        waiting = self.processing.parked(PARKED_STATE)
        return self.projections.parked_counts() | {n: len(p) for n, p in waiting.items()}

    def retry_parked(self, name: str, position: int) -> ParkedRow | None:
        """Apply (or process) `name`'s parked event at `position` again: None once done."""
        if name in self.processing.processors():
            return self.processing.retry(name, position)
        return self.projections.retry(name, position)

    def skip_parked(self, name: str, position: int, by: str) -> ParkedRow:
        if name in self.processing.processors():
            return self.processing.skip(name, position, by)
        return self.projections.skip(name, position, by)

    def watch_deadlines(self) -> int:
        """The deadline job (domain/kernel/deadlines.py) over the office queue view: received
        requests, those at their receiving window (past due there: DeemedAccepted), and decided
        ones asked to decide a correction or to revoke their result; then over the case_status
        view, the families' windows after a rejection (lapsed cases are closed). The views
        catch up when it recorded something. Returns how many."""
        view = self.projections.office_queue_view
        recorded = sum(
            DeadlineWatch(OfficeQueueReceived(view, state), self.ledger).run() for state in WATCHED
        )
        parked = DeskParked(self.projections.routing_desk_view)
        recorded += RoutingWatch(parked, self.ledger).run()
        windows = CaseStatusWindows(self.projections.case_status_view)
        recorded += WindowWatch(windows, self.ledger).run()
        recorded += self._call_sessions_off()
        if recorded:
            self.projections.catch_up()
        return recorded

    def _call_sessions_off(self) -> int:
        """Booked remote window sessions whose slot's day is over, or whose request left the
        window, called off (CaseLedger.settle_sessions); how many."""
        called = 0
        for row in self.projections.remote_window_sessions_view.live_sessions():
            if row.state == "booked":  # few: an office's bookings of the coming weeks
                try:
                    called += self.ledger.settle_sessions(UUID(row.service_request_id))
                except RecordConflictError:
                    continue  # a clerk's step on it at the same moment: the next round
        return called

    def background(self) -> Background:
        """The background work of a worker (or an embedded `serve`): a `tick` every second (at
        once after one that took longer), `deadlines` every 5 minutes, and the deliveries on a
        thread of their own (their sends on their own pool), so they never hold up the tick."""
        deliveries = (self.deliveries.run_once, self.settings.deliveries.interval_s)
        return Background(
            (self.tick, 1.0),
            {"deadlines": (self.watch_deadlines, 300.0)},
            {"deliveries": deliveries},
        )

    def after_command(self) -> None:
        """Embedded mode carries the command's consequences out before answering.

        The command itself is already committed: if another process holds a view or the
        store is briefly busy, the scheduler's next tick catches up, so this never fails it.
        """
        if not self.settings.embedded_worker:
            return
        try:
            self.processing.settle()
            self.projections.catch_up()
        except PersistenceError as exc:
            log.info("follow-up work deferred to the next tick: %s", type(exc).__name__)

    def check_store(self) -> dict[str, int]:
        """Read each application's head position; raises StoreUnavailableError, or
        StoreKeyError when the store's recorded keys are not those configured."""
        apps, settings = self.applications(), self.settings
        try:
            heads = {app.name: app.recorder.max_notification_id() or 0 for app in apps}
            store_keys.check_store(apps, settings.cipher_key, settings.old_cipher_keys)
        except (PersistenceError, OSError) as exc:
            raise StoreUnavailableError(f"The event store is not reachable: {exc}") from None
        return heads

    def close(self) -> None:
        self.audit.close()  # the reads already accepted are committed first
        self.deliveries.close()  # sends under way finish while the feed can still be read
        self.files.close()
        self.sessions.close()
        self.keys.close()
        self.projections.close()
        for app in self.applications():
            app.close()


def build(settings: Settings) -> Container:
    """Construct the applications on the configured persistence (SQLite, PostgreSQL, memory);
    on PostgreSQL, after waiting for the server and holding the table-creation lock."""
    settings.validate()
    if settings.fhir_validation_cache:
        validation_cache.install()  # the same FHIR validation, per-class work done once
    if settings.persistence == "sqlite":
        _ensure_dir(Path(settings.sqlite_dir))
    with _started(settings):
        container = _construct(settings)
        try:
            _open_with_keys(container)
        except BaseException:
            container.close()  # refused: its share of the process's pool is given back
            raise
    log.info("built applications on %s", settings.persistence)
    return container


@contextmanager
def _started(settings: Settings) -> Iterator[None]:
    """PostgreSQL: the server answers (waited for), and this process alone creates tables."""
    if settings.persistence != "postgres":
        yield
        return
    try:
        conn = pg_start.wait_for_server(settings.postgres, settings.startup_wait_s)
    except pg_start.PostgresStartError as exc:
        raise StoreUnavailableError(str(exc)) from None
    with conn:
        if not settings.create_tables:
            conn.close()  # nothing to create: the lock is not needed
            yield
            return
        with _unavailable_on_start_error(), pg_start.ddl_lock(conn, settings.postgres.schema):
            yield


@contextmanager
def _unavailable_on_start_error() -> Iterator[None]:
    try:
        yield
    except pg_start.PostgresStartError as exc:
        raise StoreUnavailableError(str(exc)) from None


def _construct(settings: Settings) -> Container:
    opened: list[Application[Any]] = []  # closed again if a later part fails
    sessions: SessionStore | None = None
    keys: SigningKeys | None = None
    try:
        ledger = _opened(opened, CaseLedger(env=settings.app_env(CaseLedger.name)))
        orchestrator = _opened(opened, Orchestrator(env=settings.app_env(Orchestrator.name)))
        actors = _opened(opened, ActorDirectory(env=settings.app_env(ActorDirectory.name)))
        systems = _opened(opened, RegistrySystems(env=settings.app_env(RegistrySystems.name)))
        staff = _opened(opened, staff_accounts(settings))
        sessions = session_store(settings)
        keys = signing_keys(settings)
        projections = build_projections(settings, ledger, PROJECTIONS)
        deliveries = _deliveries(settings, projections, systems)
        audit = _audit(settings, projections, deliveries)
        files = _files(settings, projections, deliveries, audit)
    except BaseException as exc:
        if sessions is not None:
            sessions.close()
        if keys is not None:
            keys.close()
        for app in reversed(opened):
            app.close()  # each gives its share of the process's pool back
        if isinstance(exc, PersistenceError | OSError):
            raise StoreUnavailableError(
                f"The event store could not be opened: {_why(settings, exc)}"
            ) from None
        raise
    return Container(
        settings=settings,
        ledger=ledger,
        orchestrator=orchestrator,
        actors=actors,
        systems=systems,
        processing=Processing(ledger, orchestrator),
        projections=projections,
        documents=case_documents(settings, projections.case_status_view),
        deliveries=deliveries,
        audit=audit,
        files=files,
        staff=staff,
        sessions=sessions,
        keys=keys,
    )


def _files(
    settings: Settings, projections: LedgerProjections, deliveries: Deliveries, audit: AuditLog
) -> DocumentFiles:
    """The documents on the configured store (what opened before is closed if it cannot)."""
    try:
        return document_files(settings)
    except BaseException:
        audit.close()
        deliveries.close()
        projections.close()
        raise


def _deliveries(
    settings: Settings, projections: LedgerProjections, systems: RegistrySystems
) -> Deliveries:
    """The deliveries on the configured store (the views are closed if it cannot open)."""
    try:
        return build_deliveries(settings, projections.office_feed_view, systems)
    except BaseException:
        projections.close()
        raise


def _audit(settings: Settings, projections: LedgerProjections, deliveries: Deliveries) -> AuditLog:
    """The read audit on the configured store (what was opened before is closed if it fails)."""
    try:
        return AuditLog(audit_store(settings), settings.audit_queue)
    except BaseException:
        deliveries.close()
        projections.close()
        raise


def _opened(opened: list[Application[Any]], app: A) -> A:
    opened.append(app)
    return app


def _why(settings: Settings, exc: Exception) -> str:
    """The failure in words on PostgreSQL (the pool only says it got no connection)."""
    if settings.persistence == "postgres" and (words := pg_start.explain(settings.postgres)):
        return words
    return str(exc)


def _open_with_keys(container: Container) -> None:
    """Refuse a store written with other cipher keys (StoreKeyError); record the key."""
    settings = container.settings
    try:
        store_keys.open_store(
            container.applications(),
            settings.cipher_key,
            settings.old_cipher_keys,
            create=settings.create_tables or settings.persistence == "sqlite",
        )
    except PersistenceError as exc:  # e.g. no store_keys table yet, and CREATE_TABLES=no
        container.close()
        raise StoreUnavailableError(
            f"The store's cipher key record could not be read ({exc}); after an upgrade, start "
            "one process with NEWBORN_LEDGER_CREATE_TABLES=yes first"
        ) from None
    except BaseException:
        container.close()
        raise


def _ensure_dir(path: Path) -> None:
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"Cannot create the SQLite folder {path}: {exc.strerror}") from None
