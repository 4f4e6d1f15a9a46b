"""`newborn-ledger serve` runs the real server (uvicorn) and answers on loopback."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_until_up(url: str, deadline_s: float = 20.0) -> httpx.Response:
    end = time.monotonic() + deadline_s
    while True:
        try:
            return httpx.get(url, timeout=1.0)
        except httpx.TransportError:
            if time.monotonic() > end:
                raise
            time.sleep(0.1)


def test_serve_answers_health_and_readiness(tmp_path: Path) -> None:
    port = free_port()
    env = {
        **os.environ,
        "NEWBORN_LEDGER_SQLITE_DIR": str(tmp_path / "var"),
        "NEWBORN_LEDGER_PERSISTENCE": "sqlite",
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "entry.cli", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        assert wait_until_up(f"http://127.0.0.1:{port}/healthz").json() == {"status": "ok"}
        ready = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=5.0)
        assert ready.status_code == 200
        assert httpx.get(f"http://127.0.0.1:{port}/cases/x", timeout=5.0).status_code == 404
    finally:
        server.send_signal(signal.SIGINT)
        output, _ = server.communicate(timeout=20)
    assert server.returncode == 0, output.decode()
    assert (tmp_path / "var" / "caseledger.sqlite").exists()
