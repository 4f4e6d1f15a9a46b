"""Profiles behind docs/performance.md: py-spy on a server under load, or on an in-process phase.

    python -m bench.profile ingest|status|queue [--seconds 15]   # py-spy --pid on the API worker
    python -m bench.profile lifecycle|rebuild                    # py-spy on a child process

Prints the frames with the largest share of samples (inclusive and self). Raw py-spy output goes
to bench/results/profile-<what>.txt. Needs `py-spy` (pip install py-spy) and ptrace rights.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from bench import ingest, pgdb, reads
from bench.loadgen import load
from bench.server import start_api, start_worker
from bench.wrk import ReadRequest, read_load

RESULTS = Path(__file__).resolve().parent / "results"


def summarise(raw: Path, top: int = 30, within: str = "") -> str:
    """Inclusive and self shares per frame from py-spy's raw (collapsed) output."""
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        frames = stack.split(";")
        if within and not any(within in f for f in frames):
            continue
        total += int(count)
        for frame in set(frames):
            inclusive[frame] += int(count)
        own[frames[-1]] += int(count)
    lines = [f"{total} samples" + (f" within {within}" if within else "")]
    lines += [f"{n / total:6.1%}  {f[:140]}" for f, n in inclusive.most_common(top)]
    lines += ["-- self"] + [f"{n / total:6.1%}  {f[:140]}" for f, n in own.most_common(12)]
    return "\n".join(lines)


# py-spy from this interpreter's venv (the bench extra), else from PATH
PY_SPY = shutil.which("py-spy", path=str(Path(sys.executable).parent)) or "py-spy"
GIL: list[str] = []  # ["--gil"]: only samples holding the GIL, i.e. Python CPU time


def spy(pid: int, seconds: float, out: Path) -> subprocess.Popen[bytes]:
    command = [PY_SPY, "record", "--pid", str(pid), "--duration", str(int(seconds)),
               "--rate", "200", "--format", "raw", "--nonblocking", *GIL,
               "--output", str(out)]  # fmt: skip
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def profile_ingest(seconds: float, out: Path) -> None:
    schema, log_dir = "bench_profile_ingest", RESULTS
    pgdb.fresh_schema(schema)
    settings = pgdb.settings(schema, embedded_worker=False)
    env, token = pgdb.server_env(settings), ingest.hospital_token(settings)
    api, port = start_api(env, 1, log_dir)
    worker = start_worker(env, log_dir, schema)
    try:
        profiler = spy(api.popen.pid, seconds, out)
        result = load(port, ingest._factory("prof", token), concurrency=8,
                      max_requests=int(seconds * 2000), max_seconds=seconds + 1)  # fmt: skip
        profiler.wait(timeout=60)
        print(f"ingest under profile: {result.rate:.0f} msg/s", file=sys.stderr)
    finally:
        api.stop()
        worker.stop()


def profile_reads(what: str, seconds: float, out: Path) -> None:
    """Needs the bench_lifecycle schema of a previous run (python -m bench.run)."""
    from adapters.bootstrap import build

    settings = pgdb.settings("bench_lifecycle", embedded_worker=False)
    container = build(settings)
    api, port = start_api(pgdb.server_env(settings), 1, RESULTS)
    try:
        if what == "status":
            requests = reads.family_tokens(port, container, "bench-lifecycle", 100)
        else:
            requests = [ReadRequest(reads.queue_path(loc, auth), token)
                        for loc, auth, token in reads.office_queues(container)]  # fmt: skip
        profiler = spy(api.popen.pid, seconds, out)
        summary = read_load(port, requests, concurrency=16, max_requests=10**6,
                            max_seconds=seconds + 1)  # fmt: skip
        profiler.wait(timeout=60)
        print(f"{what} under profile: {summary}", file=sys.stderr)
    finally:
        api.stop()
        container.close()


CHILD = {
    "lifecycle": "from bench import lifecycle; lifecycle.on_postgres('bench_profile_lc', 150, 60)",
    "rebuild": (
        "from bench import pgdb, rebuild; "
        "rebuild.rebuild(pgdb.settings('bench_rebuild', embedded_worker=False), "
        "'case_status', 30)"
    ),
}


def profile_child(what: str, out: Path) -> None:
    """py-spy runs the phase in a child (rebuild needs bench_rebuild from a full run)."""
    command = [PY_SPY, "record", "--rate", "200", "--format", "raw", *GIL,
               "--output", str(out), "--", sys.executable, "-c", CHILD[what]]  # fmt: skip
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, timeout=300)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.profile", description=__doc__)
    parser.add_argument("what", choices=["ingest", "status", "queue", "lifecycle", "rebuild"])
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--within", default="", help="only stacks through this frame")
    parser.add_argument("--gil", action="store_true", help="CPU: samples holding the GIL")
    args = parser.parse_args(argv)
    GIL[:] = ["--gil"] if args.gil else []
    if shutil.which(PY_SPY) is None:
        print("py-spy is not installed: pip install -e '.[dev,bench]'", file=sys.stderr)
        return 2
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"profile-{args.what}-{time.strftime('%Y%m%dT%H%M%S')}.txt"
    if args.what == "ingest":
        profile_ingest(args.seconds, out)
    elif args.what in ("status", "queue"):
        profile_reads(args.what, args.seconds, out)
    else:
        profile_child(args.what, out)
    print(summarise(out, within=args.within))
    return 0


if __name__ == "__main__":
    sys.exit(main())
