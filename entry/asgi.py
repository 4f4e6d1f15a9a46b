"""ASGI entry point for uvicorn workers: each worker builds its own container from the env."""

from __future__ import annotations

import gc
import os

from starlette.applications import Starlette

from adapters.facade import build
from adapters.settings import Settings
from api.app import create_app


def create() -> Starlette:
    app = create_app(build(Settings.from_env(os.environ)), run_scheduler=True)
    freeze_startup_heap()
    return app


def freeze_startup_heap() -> None:
    """Move what start-up built (modules, FHIR models, routes, reference data: ~100k objects)
    out of the collector's reach. A full collection scanned them all (~55 ms, a pause of every
    request in flight); they live as long as the server process, so the collector only needs
    to see what comes after. Once per server process, never in tests' processes."""
    gc.collect()
    gc.freeze()
