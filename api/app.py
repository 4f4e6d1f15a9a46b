"""create_app(container) → the Starlette application: routes, problem+json handlers, lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib.metadata import PackageNotFoundError, version

import anyio.to_thread
from starlette.applications import Starlette
from starlette.middleware import Middleware

from adapters.facade import Container, OidcClient, planning_lag
from api import (
    admin,
    audit,
    cases,
    certificate_qr,
    certificates,
    deliveries,
    documents,
    family,
    feed,
    hospital,
    id_cards,
    marriage,
    metrics,
    monitoring,
    offices,
    oidc,
    pages,
    queue,
    remote_window,
    routing_desk,
    service_requests,
    sign_in,
    system_routes,
    tracking,
)
from api.auth import PrincipalCache
from api.backpressure import PlanningLag
from api.document_checks import DocumentChecks
from api.inputs import ControlCharacterMiddleware
from api.metrics import Metrics, MetricsMiddleware
from api.openapi import openapi_document
from api.problem_language import ProblemLanguageMiddleware
from api.problems import HANDLERS
from api.threads import WorkerThreads
from api.tracking import Throttle

MODULES = (
    system_routes,
    metrics,
    hospital,
    tracking,
    cases,
    family,
    offices,
    deliveries,
    documents,
    queue,
    service_requests,
    feed,
    routing_desk,
    monitoring,
    pages,
    sign_in,
    oidc,
    admin,
    audit,
    certificates,
    certificate_qr,
    marriage,
    id_cards,
    remote_window,
)


def app_version() -> str:
    try:
        return version("newborn-ledger")
    except PackageNotFoundError:
        return "0.0.0"


def create_app(
    container: Container, *, close_on_shutdown: bool = True, run_scheduler: bool = False
) -> Starlette:
    """The ASGI app over a built container; the lifespan closes the stores on shutdown."""
    intake_threads = WorkerThreads(container.settings.threads)
    settings = container.settings
    document_checks = DocumentChecks(settings.document_checks, settings.busy_retry_after)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        # Each request makes a few dozen short store round trips from a worker thread; with
        # anyio's 40 threads they mostly hand the GIL around (docs/performance.md, Reads).
        anyio.to_thread.current_default_thread_limiter().total_tokens = container.settings.threads
        background = None
        if run_scheduler and container.settings.embedded_worker:
            background = container.background()
            background.start()
        await container.documents.open()
        yield
        await container.documents.close()
        intake_threads.close()
        document_checks.close()
        if background is not None:
            background.stop()
        if close_on_shutdown:
            container.close()

    # The router and the metrics middleware both try routes in order: the case view (the
    # family's hot read) goes first. No other route matches its paths, so nothing else moves.
    routes = [*cases.ROUTES, *(route for m in MODULES if m is not cases for route in m.ROUTES)]
    collected = Metrics()
    app = Starlette(
        routes=routes,
        exception_handlers=HANDLERS,
        lifespan=lifespan,
        middleware=[
            Middleware(MetricsMiddleware, metrics=collected),
            Middleware(ProblemLanguageMiddleware),  # every problem in the asked language
            Middleware(ControlCharacterMiddleware),
        ],
    )
    app.state.metrics = collected
    app.state.container = container
    app.state.throttle = Throttle(limits=tracking.LIMITS)  # per code, and per address
    app.state.sign_in_throttle = Throttle(sign_in.ADDRESS_FAILURES, sign_in.ADDRESS_WINDOW_S)
    app.state.marriage_throttle = Throttle(marriage.APPLICATIONS_PER_HOUR, marriage.WINDOW_S)
    app.state.principals = PrincipalCache(container.actors)
    app.state.planning_lag = PlanningLag(planning_lag(container))
    app.state.intake_threads = intake_threads  # hospital messages: api/threads.py
    app.state.document_checks = document_checks  # uploads: api/document_checks.py
    oidc_config = container.settings.oidc  # staff sign-in through an identity provider
    app.state.oidc = OidcClient(oidc_config) if oidc_config else None
    operations = [op for module in MODULES for op in module.OPERATIONS]
    app.state.openapi = openapi_document(operations, app_version())
    return app
