"""Read load with wrk (Debian's `wrk`, C, one thread) when installed, else bench.loadgen.

wrk costs far less CPU per request than a Python client, which matters on 2 cores where the
client shares the machine with the server and PostgreSQL. Either way the run is bounded by a
request count and a duration, and returns the same LoadSummary.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.loadgen import load, request_bytes
from bench.stats import latency_ms

LUA = """
local lines, idx, count = {}, 0, 0
function init(args)
  for line in io.lines("%(file)s") do
    local method, path, auth = line:match("^(%%S+)\\t(%%S+)\\t(.*)$")
    table.insert(lines, {method, path, auth})
  end
  idx = math.random(#lines)
end
function request()
  idx = idx %% #lines + 1
  local r = lines[idx]
  local headers = {}
  if r[3] ~= "" then headers["Authorization"] = "Bearer " .. r[3] end
  return wrk.format(r[1], r[2], headers)
end
function response(status, headers, body)
  count = count + 1
  if count >= %(max_requests)d then wrk.thread:stop() end
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '\\nJSON {"requests": %%d, "duration_us": %%d, "bad_status": %%d, "errors": %%d, ' ..
    '"p50_us": %%d, "p99_us": %%d}\\n',
    summary.requests, summary.duration, e.status, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
"""


@dataclass(frozen=True)
class ReadRequest:
    path: str
    token: str = ""
    method: str = "GET"


@dataclass(frozen=True)
class LoadSummary:
    """Requests per second that answered 2xx, latency percentiles, failures, and the tool."""

    rate: float
    p50_ms: float
    p99_ms: float
    ok: int
    failed: int
    tool: str


def have_wrk() -> bool:
    return shutil.which("wrk") is not None


def read_load(
    port: int,
    requests: Sequence[ReadRequest],
    *,
    concurrency: int,
    max_requests: int,
    max_seconds: float,
    prefer_wrk: bool = True,
) -> LoadSummary:
    if prefer_wrk and have_wrk():
        return _with_wrk(port, requests, concurrency, max_requests, max_seconds)
    return _with_loadgen(port, requests, concurrency, max_requests, max_seconds)


def _with_wrk(
    port: int, requests: Sequence[ReadRequest], concurrency: int, max_requests: int, seconds: float
) -> LoadSummary:
    with tempfile.TemporaryDirectory(prefix="bench-wrk-") as folder:
        lines = Path(folder) / "requests.tsv"
        lines.write_text("".join(f"{r.method}\t{r.path}\t{r.token}\n" for r in requests))
        script = Path(folder) / "reads.lua"
        # One wrk thread drives every connection, so its count is the whole run's.
        script.write_text(LUA % {"file": lines, "max_requests": max_requests})
        command = ["wrk", "-t1", f"-c{concurrency}", f"-d{max(1, round(seconds))}s",
                   "--timeout", "5s", "-s", str(script), f"http://127.0.0.1:{port}"]  # fmt: skip
        out = subprocess.run(
            command, capture_output=True, text=True, timeout=seconds + 60, check=True
        ).stdout
    data = json.loads(out.split("JSON ", 1)[1])
    ok = data["requests"] - data["bad_status"]
    return LoadSummary(
        rate=ok / (data["duration_us"] / 1e6),
        p50_ms=data["p50_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
        ok=ok,
        failed=data["bad_status"] + data["errors"],
        tool="wrk",
    )


def _with_loadgen(
    port: int, requests: Sequence[ReadRequest], concurrency: int, max_requests: int, seconds: float
) -> LoadSummary:
    raws = [
        request_bytes(r.method, r.path, {"Authorization": f"Bearer {r.token}"} if r.token else {})
        for r in requests
    ]
    result = load(
        port,
        lambda n: raws[n % len(raws)],
        concurrency=concurrency,
        max_requests=max_requests,
        max_seconds=seconds,
    )
    p50, p99 = latency_ms(result.latencies)
    failed = sum(n for s, n in result.statuses.items() if not 200 <= s < 300) + result.errors
    return LoadSummary(result.rate, p50, p99, result.ok, failed, "bench.loadgen")
