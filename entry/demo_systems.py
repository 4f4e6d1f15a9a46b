"""The demo's last scene: a birth whose offices all run their own systems — SIMULATED registry
systems (integrations/registry/simulator.py, each its own process; no real office is
contacted). The ledger is served over real HTTP; each office's system is registered as
`newborn-ledger registry add` does; the background work pushes each office's messages as signed
webhooks; the simulated systems verify them and answer through the API with their own tokens.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import sys
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from adapters.facade import Container, feed_now, load_catalog
from api.app import create_app

WAIT_S = 180.0  # the whole case, five offices one after the other: seconds (minutes when busy)
DELAY_S = "0.2"  # each simulated system decides this long after a message arrives


@dataclass
class SimulatedSystem:
    locality: str
    authority: str
    system_id: str
    actor_id: str
    token: str
    port: int
    process: asyncio.subprocess.Process | None = None


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def offices_of(locality: str) -> list[tuple[str, str]]:
    """Every office a birth, hukou and residence in `locality` needs: one per authority."""
    return sorted({(locality, d.authority) for d in load_catalog().services})


async def serve(container: Container, port: int) -> tuple[uvicorn.Server, asyncio.Task[None]]:
    """The ledger over HTTP on `port`, with its background work (ticks and deliveries)."""
    app = create_app(container, close_on_shutdown=False, run_scheduler=True)
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()  # raises why it could not start
        await asyncio.sleep(0.05)
    return server, task


async def start_systems(
    container: Container, ledger: str, locality: str, logs: Path
) -> list[SimulatedSystem]:
    """Register one system per office (as `registry add` does) and start a simulated
    registry system for each, verifying with the secret it was given."""
    systems: list[SimulatedSystem] = []
    for place, authority in offices_of(locality):
        port = free_port()
        added = container.systems.register(
            container.actors,
            place,
            authority,
            f"http://127.0.0.1:{port}/webhooks",
            f"SIMULATED {authority} system of {place}",
            feed_now(container),
        )
        system = SimulatedSystem(
            place, authority, str(added.system.system_id), str(added.system.actor_id),
            added.token, port,
        )  # fmt: skip
        with (logs / f"simulated-{authority}-{place}.log").open("wb") as log:
            system.process = await asyncio.create_subprocess_exec(
                *(sys.executable, "-m", "entry.cli", "registry-simulator"),
                *("--port", str(port), "--ledger", ledger, "--delay", DELAY_S),
                stdout=log,
                stderr=asyncio.subprocess.STDOUT,
                env={  # not on the command line, where every user of the machine sees them
                    **os.environ,
                    "NEWBORN_LEDGER_SIMULATOR_TOKEN": added.token,
                    "NEWBORN_LEDGER_SIMULATOR_SECRETS": added.secret,
                },
            )  # the process holds its own copy of the log file
        systems.append(system)
    async with httpx.AsyncClient() as http:
        for system in systems:
            await _until_up(http, f"http://127.0.0.1:{system.port}/healthz")
    return systems


async def _until_up(http: httpx.AsyncClient, url: str) -> None:
    ends = time.monotonic() + 30
    while True:
        with contextlib.suppress(httpx.TransportError):
            if (await http.get(url, timeout=2)).status_code == 200:
                return
        if time.monotonic() > ends:
            raise RuntimeError(f"the simulated registry system at {url} did not start")
        await asyncio.sleep(0.1)


async def stop_systems(systems: list[SimulatedSystem]) -> None:
    for system in systems:
        if system.process is not None and system.process.returncode is None:
            system.process.terminate()
    for system in systems:
        if system.process is not None:
            await system.process.wait()


async def until_completed(
    http: httpx.AsyncClient, admin: dict[str, str], case_id: str
) -> dict[str, Any]:
    ends = time.monotonic() + WAIT_S
    while True:
        view: dict[str, Any] = (await http.get(f"/cases/{case_id}", headers=admin)).json()
        if view.get("state") == "completed" or time.monotonic() > ends:
            return view
        await asyncio.sleep(0.3)


async def deciders(http: httpx.AsyncClient, admin: dict[str, str], case_id: str) -> dict[str, str]:
    """Who received and decided each service: the officer of its Approved event."""
    history = (await http.get(f"/cases/{case_id}/history", headers=admin)).json()["events"]
    return {e["stream"]: e["data"].get("officer", "") for e in history if e["event"] == "Approved"}


def started_at() -> str:
    return datetime.now().astimezone().strftime("%H:%M:%S")
