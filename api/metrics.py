"""GET /metrics: Prometheus text: projection and planning lag, parked events, heads, requests,
deliveries to registry systems."""

from __future__ import annotations

import time

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from adapters.facade import (
    Container,
    delivery_figures,
    log_heads,
    planning_lag,
    projection_lags,
)
from api.openapi import TEXT, Operation

OPERATIONS = [
    Operation("/metrics", "GET", "Prometheus metrics (no token, no personal data)", media=(TEXT,))
]


class Metrics:
    """One registry per app, so tests and several apps in one process never collide."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "newborn_ledger_http_requests",
            "HTTP requests",
            ("method", "route", "status"),
            registry=self.registry,
        )
        self.latency = Histogram(
            "newborn_ledger_http_request_seconds",
            "HTTP request latency",
            ("route",),
            registry=self.registry,
        )
        self.lag = Gauge(
            "newborn_ledger_projection_lag_events",
            "Ledger notifications a projection has not processed yet",
            ("projection",),
            registry=self.registry,
        )
        self.planning = Gauge(
            "newborn_ledger_planning_lag_events",
            "Ledger notifications the orchestrator has not planned yet (intake is 503 above "
            "NEWBORN_LEDGER_MAX_PLANNING_LAG)",
            registry=self.registry,
        )
        self.parked = Gauge(
            "newborn_ledger_parked_events",
            "Events a view (or a process application) could not apply, parked and not yet "
            "retried or skipped (`newborn-ledger projections status`)",
            ("view",),
            registry=self.registry,
        )
        self.head = Gauge(
            "newborn_ledger_log_head",
            "Highest notification id of an application",
            ("application",),
            registry=self.registry,
        )

        self.deliveries = Gauge(
            "newborn_ledger_deliveries",
            "Deliveries to enabled registry systems by state: pending (being sent or "
            "retried), dead (dead letters waiting: `newborn-ledger deliveries list --dead`)",
            ("state",),
            registry=self.registry,
        )
        self.open_circuits = Gauge(
            "newborn_ledger_delivery_open_circuits",
            "Enabled registry systems whose circuit is open (paused after failures, probed)",
            registry=self.registry,
        )

    def refresh(self, container: Container) -> None:
        for name, lag in projection_lags(container).items():
            self.lag.labels(name).set(lag)
        for name, parked in container.parked_counts().items():
            self.parked.labels(name).set(parked)
        self.planning.set(planning_lag(container)())
        for name, head in log_heads(container).items():
            self.head.labels(name).set(head)
        figures = delivery_figures(container)
        for state, count in figures["states"].items():
            self.deliveries.labels(state).set(count)
        self.open_circuits.set(figures["open_circuits"])


class MetricsMiddleware:
    """Counts requests by route template (never by raw path: paths carry case ids)."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app, self.metrics = app, metrics
        # (method, route, status) → its counter and histogram series, resolved once: the
        # client's labels() takes a lock and checks every label on each call
        self._series: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status, start = 500, time.perf_counter()

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            elapsed = time.perf_counter() - start
            requests, latency = self._labelled(scope["method"], _template(scope), status)
            requests.inc()
            latency.observe(elapsed)

    def _labelled(self, method: str, route: str, status: int) -> tuple[Counter, Histogram]:
        key = (method, route, status)
        series = self._series.get(key)
        if series is None:
            series = self._series[key] = (
                self.metrics.requests.labels(method, route, str(status)),
                self.metrics.latency.labels(route),
            )
        return series


def _template(scope: Scope) -> str:
    """The route the router matched (it records it in the scope, which it shares with us):
    no second matching of every route per request."""
    route = scope.get("route")
    return route.path if isinstance(route, Route) else "unmatched"


async def metrics(request: Request) -> Response:
    state = request.app.state
    await run_in_threadpool(state.metrics.refresh, state.container)
    return Response(generate_latest(state.metrics.registry), media_type=CONTENT_TYPE_LATEST)


ROUTES = [Route("/metrics", metrics, methods=["GET"])]
