"""The machine a run happened on: cores, memory, CPU model, PostgreSQL, Python, versions."""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
from pathlib import Path
from typing import Any

from bench import pgdb
from bench.server import ROOT, cpu_s


def postgres_cpu() -> dict[int, float]:
    """CPU seconds (user + system) used so far by each running PostgreSQL process."""
    found = {}
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and (entry / "comm").read_text().startswith("postgres"):
                found[int(entry.name)] = cpu_s(int(entry.name))
        except OSError:  # the process ended meanwhile
            continue
    return found


def postgres_cpu_since(start: dict[int, float]) -> float:
    """The PostgreSQL server's CPU seconds since `start` (a `postgres_cpu()` reading): what the
    processes running now used since then. A connection closed in between takes its share with
    it, so phases keep their connections open (as the pools do)."""
    return sum(now - start.get(pid, 0.0) for pid, now in postgres_cpu().items())


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "?"


def _memory_gb() -> float:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) / 1024 / 1024
    except OSError:
        pass
    return 0.0


def _git(*args: str) -> str:
    try:
        out = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True)
        return out.stdout.strip()
    except OSError:
        return ""


def code_version() -> str:
    """HEAD, plus how many files outside bench/ differ from it (edits under way)."""
    changed = [line for line in _git("status", "--porcelain").splitlines() if " bench/" not in line]
    head = _git("rev-parse", "--short", "HEAD") or "?"
    return f"{head}+{len(changed)} changed" if changed else head


def _pg_settings() -> dict[str, str]:
    names = ("shared_buffers", "synchronous_commit", "fsync", "max_connections", "work_mem")
    with pgdb.connect("postgres") as conn:
        rows = conn.execute(
            "SELECT name, current_setting(name) FROM pg_settings WHERE name = ANY(%s)",
            (list(names),),
        ).fetchall()
    return {str(name): str(value) for name, value in rows}


def describe() -> dict[str, Any]:
    return {
        "cores": os.cpu_count(),
        "memory_gb": round(_memory_gb(), 1),
        "cpu": _cpu_model(),
        "postgres": pgdb.server_version(),
        "postgres_settings": _pg_settings(),
        "python": platform.python_version(),
        "kernel": platform.release(),
        "load_generator": "wrk (reads) + bench.loadgen (ingest)"
        if shutil.which("wrk")
        else "bench.loadgen",
        "code": code_version(),
    }
