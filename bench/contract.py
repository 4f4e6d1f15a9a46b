"""Schemathesis over /openapi.json (issue #16): `newborn-ledger serve` on a fresh SQLite store on
127.0.0.1, an admin token and a hospital's cases in it, then schemathesis's CLI against the live
server with its "not a server error" and response-schema conformance checks (the document's
schemas are api/openapi.py's). Bounded by --max-examples per operation.

    .venv/bin/python -m bench.contract                     # 100 examples per operation
    .venv/bin/python -m bench.contract --max-examples 10   # the bounded form .ci/run runs
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from adapters.bootstrap import build
from adapters.settings import Settings
from bench.messages import HOSPITAL, message
from bench.server import ROOT, free_port

CHECKS = (
    "not_a_server_error",
    "response_schema_conformance",
    "content_type_conformance",
    "status_code_conformance",
)
START_S = 60.0


def seed_store(folder: Path) -> str:
    """An admin token, and a hospital's three notified cases (so that reads find data)."""
    container = build(Settings(persistence="sqlite", sqlite_dir=str(folder)))
    try:
        hospital = container.actors.add("hospital", HOSPITAL)[1]
        admin = container.actors.add("admin", None)[1]
    finally:
        container.close()
    env = {**os.environ, **server_env(folder)}
    with Serving(env, folder) as url:
        headers = {"Authorization": f"Bearer {hospital}", "Content-Type": "application/fhir+json"}
        for i in range(3):
            sent = message("contract", i)
            answer = httpx.post(f"{url}/fhir/$process-message", content=sent.body,
                                headers=headers, timeout=30)  # fmt: skip
            answer.raise_for_status()
    return admin


def server_env(folder: Path) -> dict[str, str]:
    return {
        "NEWBORN_LEDGER_PERSISTENCE": "sqlite",
        "NEWBORN_LEDGER_SQLITE_DIR": str(folder),
        "NEWBORN_LEDGER_LOG_LEVEL": "WARNING",
    }


class Serving:
    """`newborn-ledger serve` on a free loopback port, for the `with` block."""

    def __init__(self, env: dict[str, str], folder: Path) -> None:
        self.port = free_port()
        self.log = folder / f"serve-{self.port}.log"
        command = [sys.executable, "-m", "entry.cli", "serve", "--host", "127.0.0.1",
                   "--port", str(self.port)]  # fmt: skip
        with self.log.open("wb") as out:
            self.popen = subprocess.Popen(
                command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
            )

    def __enter__(self) -> str:
        url, end = f"http://127.0.0.1:{self.port}", time.monotonic() + START_S
        while time.monotonic() < end:
            if self.popen.poll() is not None:
                raise RuntimeError(f"serve exited: {self.log.read_text()[-2000:]}")
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    return url
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        self.__exit__()
        raise RuntimeError(f"serve did not answer within {START_S} s")

    def __exit__(self, *exc: object) -> None:
        self.popen.terminate()
        try:
            self.popen.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait(timeout=5)


def run(max_examples: int, seed: int, folder: Path) -> tuple[int, str, int]:
    """Schemathesis's exit status and output, and the requests the server counted."""
    token = seed_store(folder)
    env = {**os.environ, **server_env(folder)}
    with Serving(env, folder) as url:
        command = [
            str(Path(sys.executable).with_name("schemathesis")), "run", f"{url}/openapi.json",
            "--checks", ",".join(CHECKS), "--max-examples", str(max_examples),
            "--seed", str(seed), "--header", f"Authorization: Bearer {token}",
            "--request-timeout", "30", "--workers", "1", "--no-color",
        ]  # fmt: skip
        done = subprocess.run(command, cwd=folder, capture_output=True, text=True, check=False)
        served = requests_served(httpx.get(f"{url}/metrics", timeout=10).text)
    return done.returncode, done.stdout + done.stderr, served


def requests_served(metrics: str) -> int:
    """HTTP requests the server answered, from its own counter (this scrape not included)."""
    counts = re.findall(r"^newborn_ledger_http_requests_total\{.*\} ([0-9.e+]+)$", metrics,
                        flags=re.MULTILINE)  # fmt: skip
    return int(sum(float(n) for n in counts))


def test_cases(output: str) -> int | None:
    """The number of test cases (requests, or stateful sequences) schemathesis generated."""
    found = re.search(r"([0-9,]+) generated", output)
    return int(found.group(1).replace(",", "")) if found else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.contract", description=__doc__)
    parser.add_argument("--max-examples", type=int, default=100)
    parser.add_argument("--seed", type=int, default=16)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="contract-") as folder:
        status, output, served = run(args.max_examples, args.seed, Path(folder))
    print(output)
    print(f"schemathesis exit status {status}; test cases: {test_cases(output)}; "
          f"requests served: {served}")  # fmt: skip
    return status


if __name__ == "__main__":
    sys.exit(main())
