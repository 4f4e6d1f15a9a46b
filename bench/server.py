"""Start and stop the real server (uvicorn, N workers) and the worker process; sample RSS."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024
# As `newborn-ledger serve` runs: uvloop and httptools (docs/performance.md, Ingest).
SERVER_OPTIONS = ("--loop", "uvloop", "--http", "httptools")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _stat(pid: int | str) -> list[str] | None:
    """The fields of /proc/<pid>/stat after the command name (None when the process is gone):
    [0] state, [1] parent pid, [11] user and [12] system CPU in clock ticks."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def children(pid: int) -> list[int]:
    """Direct children of `pid` (from /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        fields = _stat(entry.name)
        if fields is not None and int(fields[1]) == pid:
            found.append(int(entry.name))
    return found


def cpu_s(pid: int) -> float:
    """CPU seconds (user + system) a process has used so far (0 when it is gone)."""
    fields = _stat(pid)
    if fields is None:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def rss_mb(pid: int) -> float:
    """Resident set size of one process in MB (0 when it is gone)."""
    try:
        pages = int(Path(f"/proc/{pid}/statm").read_text().split()[1])
    except (OSError, IndexError, ValueError):
        return 0.0
    return pages * PAGE_KB / 1024


@dataclass
class Process:
    """A process we started, by pid: the API (uvicorn) or the worker."""

    name: str
    popen: subprocess.Popen[bytes]
    log: Path

    def pids(self) -> list[int]:
        """The process and its worker children (uvicorn --workers N forks N children)."""
        return [self.popen.pid, *children(self.popen.pid)]

    def cpu_s(self) -> float:
        """CPU seconds used so far by the process and its worker children."""
        return sum(cpu_s(pid) for pid in self.pids())

    def stop(self, timeout_s: float = 20) -> None:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(timeout=5)


def start_api(
    env: dict[str, str], workers: int, log_dir: Path, attempts: int = 3, nodelay: bool = True
) -> tuple[Process, int]:
    """uvicorn on 127.0.0.1 with the bench factory (the app plus a bare baseline route).

    Workers that start together can fail in the library's CREATE OR REPLACE FUNCTION
    ("tuple concurrently updated", see docs/performance.md): then start again, so that every
    measured run really has `workers` workers."""
    for attempt in range(1, attempts + 1):
        process, port = _start_api_once(env, workers, log_dir, nodelay)
        failed = "StoreUnavailableError" in process.log.read_text(errors="replace")
        if not failed:
            return process, port
        process.stop()
        if attempt == attempts:
            raise RuntimeError(f"{process.name}: a worker failed to start {attempts} times")
    raise AssertionError("unreachable")


def _start_api_once(
    env: dict[str, str], workers: int, log_dir: Path, nodelay: bool
) -> tuple[Process, int]:
    port = free_port()
    log = log_dir / f"api-{workers}w-{port}.log"
    if nodelay:  # as `newborn-ledger serve` (bench/nodelay.py); else uvicorn --workers N
        command = [sys.executable, "-m", "bench.nodelay", "bench.asgi:create", str(port),
                   str(workers)]  # fmt: skip
        popen = _spawn(command, env, log)
        process = Process(f"api-{workers}w", popen, log)
        _wait_until_up(process, port, workers)
        return process, port
    command = [
        sys.executable, "-m", "uvicorn", "bench.asgi:create", "--factory",
        "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers),
        "--log-level", "warning", "--no-access-log", *SERVER_OPTIONS,
    ]  # fmt: skip
    popen = _spawn(command, env, log)
    process = Process(f"api-{workers}w", popen, log)
    _wait_until_up(process, port, workers)
    return process, port


def start_worker(env: dict[str, str], log_dir: Path, tag: str = "") -> Process:
    """`newborn-ledger worker`: orchestration and projections on the scheduler's tick."""
    log = log_dir / f"worker{'-' + tag if tag else ''}.log"
    popen = _spawn([sys.executable, "-m", "entry.cli", "worker"], env, log)
    return Process("worker", popen, log)


def _spawn(command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(
            command, cwd=ROOT, env={**os.environ, **env}, stdout=out, stderr=subprocess.STDOUT
        )


def _wait_until_up(process: Process, port: int, workers: int, deadline_s: float = 60) -> None:
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        if process.popen.poll() is not None:
            raise RuntimeError(f"{process.name} exited: {process.log.read_text()[-2000:]}")
        try:
            up = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200
            if up and (workers == 1 or len(children(process.popen.pid)) >= workers):
                time.sleep(0.5 * workers)  # let every worker finish its lifespan startup
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    process.stop()
    raise RuntimeError(f"{process.name} did not answer on port {port} within {deadline_s} s")


@dataclass
class RssSampler:
    """Samples the RSS of processes once a second in a thread, while a load runs."""

    processes: list[Process]
    interval_s: float = 1.0
    samples: list[tuple[float, dict[str, float]]] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def __enter__(self) -> RssSampler:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _run(self) -> None:
        started = time.monotonic()
        while not self._stop.wait(self.interval_s):
            sample = {}
            for process in self.processes:
                for pid in process.pids():
                    sample[f"{process.name}:{pid}"] = rss_mb(pid)
            self.samples.append((time.monotonic() - started, sample))

    def series(self, prefix: str) -> list[tuple[float, float]]:
        """(seconds, total MB of the processes whose key starts with `prefix`)."""
        return [
            (t, sum(mb for key, mb in s.items() if key.startswith(prefix))) for t, s in self.samples
        ]

    def peak(self, prefix: str) -> float:
        """The largest single-process RSS among matching processes (MB)."""
        peaks = [mb for _, s in self.samples for key, mb in s.items() if key.startswith(prefix)]
        return max(peaks, default=0.0)
