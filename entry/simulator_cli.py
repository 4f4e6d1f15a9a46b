"""`newborn-ledger registry-simulator`: a simulated registry system, served over HTTP.

A test double of an office's own system for the demo and the tests (never a real office):
it takes the ledger's signed deliveries on `POST /webhooks` (or `/`), answers through the
ledger's office routes with its token, and is steered by `POST /control`; `GET /received`
lists the messages it accepted, `GET /answers` the answers it sent, `GET /healthz` says it
runs. The behaviour is integrations/registry/simulator.py; this module is its HTTP edge.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import urlsplit

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from adapters.facade import RegistrySimulator, SimulatorConfig
from adapters.settings import ConfigError, Settings

MAX_BODY = 1 << 20  # a message is a few kilobytes
HELP = "run a simulated registry system (demo, tests): verifies and answers deliveries"
TOKEN_ENV = "NEWBORN_LEDGER_SIMULATOR_TOKEN"
SECRETS_ENV = "NEWBORN_LEDGER_SIMULATOR_SECRETS"


def add_parser(sub: Any) -> None:
    """The `registry-simulator` subcommand on the CLI's subparsers."""
    parser = sub.add_parser("registry-simulator", help=HELP, description=__doc__)
    parser.add_argument("--port", type=int, required=True, help="the port it listens on")
    parser.add_argument("--host", default="127.0.0.1", help="default: loopback only")
    parser.add_argument("--ledger", required=True, help="the ledger's base URL")
    parser.add_argument(
        "--token",
        help=f"the office's token (a system token); default ${TOKEN_ENV}, which keeps it out "
        "of the process list",
    )
    parser.add_argument(
        "--secret",
        action="append",
        help="the signing secret, whsec_... (give two while a rotation overlaps); default "
        f"${SECRETS_ENV} (secrets separated by spaces), which keeps them out of the process list",
    )
    parser.add_argument("--delay", type=float, default=1.0, help="seconds before it acts")
    parser.add_argument(
        "--journal",
        default=":memory:",
        help="a SQLite file that keeps accepted messages across restarts (default: memory)",
    )


def cmd_registry_simulator(settings: Settings, args: argparse.Namespace) -> int:
    import uvicorn

    config = simulator_config(args)
    uvicorn.run(
        create_app(config),
        host=args.host,
        port=args.port,
        log_level="info",
        access_log=False,
        timeout_graceful_shutdown=2,
    )
    return 0


def simulator_config(args: argparse.Namespace) -> SimulatorConfig:
    """The checked configuration, or ConfigError naming what is wrong."""
    ledger = urlsplit(args.ledger)
    if ledger.scheme not in ("http", "https") or not ledger.netloc:
        raise ConfigError("--ledger is the ledger's http(s) base URL")
    if args.delay < 0 or not 0 < args.port < 65536:
        raise ConfigError("--delay is 0 or more seconds, --port 1 to 65535")
    token = args.token or os.environ.get(TOKEN_ENV, "")
    secrets = tuple(args.secret or os.environ.get(SECRETS_ENV, "").split())
    if not token or not secrets:
        raise ConfigError(
            f"give the system's token and secret: --token/--secret, or {TOKEN_ENV}/{SECRETS_ENV}"
        )
    config = SimulatorConfig(args.ledger, token, secrets, args.delay, args.journal)
    try:
        config.webhooks()
    except ValueError as exc:
        raise ConfigError(f"--secret: {exc}") from None
    return config


def create_app(config: SimulatorConfig) -> Starlette:
    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        simulator = RegistrySimulator.create(config)
        app.state.simulator = simulator
        await simulator.start()
        try:
            yield
        finally:
            await simulator.stop()

    return Starlette(routes=ROUTES, lifespan=lifespan)


def _simulator(request: Request) -> RegistrySimulator:
    simulator: RegistrySimulator = request.app.state.simulator
    return simulator


async def deliveries(request: Request) -> Response:
    body = await request.body()
    if len(body) > MAX_BODY:
        return JSONResponse({"error": "body too large"}, status_code=413)
    reply = await _simulator(request).deliver(dict(request.headers), body)
    return JSONResponse(reply.body, status_code=reply.status)


async def control(request: Request) -> Response:
    try:
        body = orjson.loads(await request.body())
    except orjson.JSONDecodeError:
        return JSONResponse({"error": "the body is not JSON"}, status_code=422)
    reply = _simulator(request).control.set(body)
    return JSONResponse(reply.body, status_code=reply.status)


async def received(request: Request) -> Response:
    return JSONResponse({"messages": _simulator(request).journal.received()})


async def answers(request: Request) -> Response:
    return JSONResponse({"answers": _simulator(request).journal.answers()})


async def healthz(request: Request) -> Response:
    return JSONResponse(_simulator(request).status())


ROUTES = [
    Route("/", deliveries, methods=["POST"]),
    Route("/webhooks", deliveries, methods=["POST"]),
    Route("/control", control, methods=["POST"]),
    Route("/received", received, methods=["GET"]),
    Route("/answers", answers, methods=["GET"]),
    Route("/healthz", healthz, methods=["GET"]),
]
