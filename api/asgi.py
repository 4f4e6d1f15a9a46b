"""ASGI entry point for uvicorn workers: each worker builds its own container from the env."""

from __future__ import annotations

import os

from starlette.applications import Starlette

from adapters.bootstrap import build
from adapters.settings import Settings
from api.app import create_app


def create() -> Starlette:
    return create_app(build(Settings.from_env(os.environ)), run_scheduler=True)
