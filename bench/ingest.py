"""Ingest: ~10 kB hospital messages over HTTP through uvicorn, and the same run's baselines."""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from fhir.resources.R4B.bundle import Bundle

from adapters.bootstrap import build
from adapters.settings import Settings
from bench import machine, pgdb
from bench.loadgen import LoadResult, load, prebuilt, request_bytes
from bench.messages import HOSPITAL, Message, message
from bench.server import Process, RssSampler, start_api, start_worker
from bench.stats import latency_ms, percentile
from integrations.hospital import validation_cache
from integrations.hospital.birth_notification import parse_message

PATH = "/fhir/$process-message"
PLANNED = "domain.birth_case:BirthCase.ServicesPlanned"


def sample_messages(run: str, count: int) -> list[Message]:
    return [message(run, i) for i in range(count)]


def _stock_json(raw: bytes) -> object:
    return Bundle.model_validate_json(raw)


def _stock_dict(raw: bytes) -> object:
    return Bundle.model_validate(orjson.loads(raw))


STOCK_WAYS: dict[str, Callable[[bytes], object]] = {
    "model_validate_json(bytes)": _stock_json,
    "model_validate(orjson.loads(bytes))": _stock_dict,
}


def cpu_rate(work: str, messages: list[Message], seconds: float) -> float:
    """Messages per second on one core: 'validate' (stock fhir.resources R4B alone, the faster
    of its two ways to validate the same bytes, each printed) or 'parse' (our whole intake
    mapping, which includes that validation, with the caches the API installs)."""
    if work == "parse":
        validation_cache.install()
        return _rate(parse_message, messages, seconds)
    rates = stock_validation_rates(messages, seconds)
    for way, rate in rates.items():
        print(f"  stock validation, {way}: {rate:.0f} msg/s", file=sys.stderr)
    return max(rates.values())


def stock_validation_rates(messages: list[Message], seconds: float) -> dict[str, float]:
    """Each stock way's rate, with fhir_core's own validators (validation_cache.stock())."""
    with validation_cache.stock():
        return {way: _rate(step, messages, seconds) for way, step in STOCK_WAYS.items()}


def _rate(step: Callable[[bytes], object], messages: list[Message], seconds: float) -> float:
    for m in messages[:20]:  # warm the model caches
        step(m.body)
    done, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds and done < 100 * len(messages):
        step(messages[done % len(messages)].body)
        done += 1
    return done / (time.perf_counter() - started)


def raw_insert_rate(schema: str, messages: list[Message], seconds: float, threads: int) -> float:
    """psycopg INSERT + COMMIT of the same bytes, one message per transaction, `threads`
    connections (the HTTP load's concurrency)."""
    with pgdb.connect() as conn:
        conn.execute(
            f"CREATE TABLE {schema}.raw_messages (id bigserial PRIMARY KEY, "
            "message_id text NOT NULL UNIQUE, body bytea NOT NULL)"
        )
    counter, lock = [0], threading.Lock()
    deadline = time.perf_counter() + seconds

    def insert() -> None:
        with pgdb.connect(autocommit=True) as conn:
            while time.perf_counter() < deadline:
                with lock:
                    n = counter[0]
                    counter[0] += 1
                m = messages[n % len(messages)]
                conn.execute(
                    f"INSERT INTO {schema}.raw_messages (message_id, body) VALUES (%s, %s)",
                    (f"{m.message_id}-{n}", m.body),
                )

    started = time.perf_counter()
    workers = [threading.Thread(target=insert) for _ in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=seconds + 30)
    return counter[0] / (time.perf_counter() - started)


@dataclass
class IngestRun:
    """One server configuration under the ingest load."""

    label: str
    workers: int
    topology: str  # "worker": API + `newborn-ledger worker`; "embedded": API settles itself
    seconds: float
    persistence: str = "postgres"
    nodelay: bool = True  # serve as `newborn-ledger serve` does (bench/nodelay.py)
    max_planning_lag: int = 0  # 0: back-pressure off, so the run measures the API's capacity
    result: dict[str, Any] = field(default_factory=dict)


def hospital_token(settings: Settings) -> str:
    container = build(settings)
    try:
        return container.actors.add("hospital", HOSPITAL, label="bench")[1]
    finally:
        container.close()


def _factory(run: str, token: str) -> Any:
    headers = {"Content-Type": "application/fhir+json", "Authorization": f"Bearer {token}"}
    return lambda n: request_bytes("POST", PATH, headers, message(run, n).body)


def _planned(schema: str) -> int:
    with pgdb.connect() as conn:
        row = conn.execute(
            f"SELECT count(*) FROM {schema}.caseledger_events WHERE topic = %s", (PLANNED,)
        ).fetchone()
    return int(row[0]) if row else 0


def _settings(run: IngestRun, schema: str, log_dir: Path) -> Settings:
    if run.persistence == "sqlite":
        folder = log_dir / f"sqlite-{schema}"
        return pgdb.sqlite_settings(folder)
    pgdb.fresh_schema(schema)
    return pgdb.settings(schema, embedded_worker=run.topology == "embedded")


def measure(run: IngestRun, schema: str, log_dir: Path, drain_s: float) -> dict[str, Any]:
    """Start the server (and worker), load it, sample RSS, then time the worker's drain."""
    settings = _settings(run, schema, log_dir)
    env = pgdb.server_env(settings) | {"NEWBORN_LEDGER_MAX_PLANNING_LAG": str(run.max_planning_lag)}
    token = hospital_token(settings)
    api, port = start_api(env, run.workers, log_dir, nodelay=run.nodelay)  # before the worker:
    # see start_api on startup races
    worker = start_worker(env, log_dir, schema) if run.topology == "worker" else None
    processes = [api] + ([worker] if worker else [])
    try:
        with RssSampler(processes) as rss:
            factory = prebuilt(_factory(schema.replace("_", "-"), token), _prebuilt_count(run))
            cpu = CpuShares(api, worker)
            result = load(
                port,
                factory,
                concurrency=8 * run.workers,
                max_requests=int(run.seconds * 2000),
                max_seconds=run.seconds,
            )
            shares = cpu.per_message(result.ok)
            api.stop()
            drained = _drain(run, schema, result.ok, drain_s)
    finally:
        for process in processes:
            process.stop()
    return summarise(run, result, rss, api, worker, drained) | {"cpu_ms_per_message": shares}


PREBUILT_PER_S = 500  # messages built ahead per second of load (more than any run accepts)
PREBUILT_MAX = 12_000  # ~120 MB of requests; a longer run (the soak) builds the rest on the go


def _prebuilt_count(run: IngestRun) -> int:
    return min(PREBUILT_MAX, int(run.seconds * PREBUILT_PER_S * run.workers))


class CpuShares:
    """Who used the 2 cores during a load: CPU ms per accepted message of the API process(es),
    the worker, the PostgreSQL server and this process (the load generator, which also
    writes each message)."""

    def __init__(self, api: Process, worker: Process | None) -> None:
        self.api, self.worker = api, worker
        self.start, self.postgres = self._now(), machine.postgres_cpu()

    def _now(self) -> dict[str, float]:
        return {
            "api": self.api.cpu_s(),
            "worker": self.worker.cpu_s() if self.worker else 0.0,
            "load generator": time.process_time(),
        }

    def per_message(self, accepted: int) -> dict[str, float]:
        used = {k: v - self.start[k] for k, v in self._now().items()}
        used["postgres"] = machine.postgres_cpu_since(self.postgres)
        return {k: 1e3 * v / max(1, accepted) for k, v in used.items()}


def _drain(run: IngestRun, schema: str, accepted: int, drain_s: float) -> dict[str, float]:
    """How many accepted notifications were planned by the end of the load, and how long the
    worker then took to plan the rest (bounded by `drain_s`)."""
    if run.persistence != "postgres":
        return {}
    at_end = _planned(schema)
    started = time.perf_counter()
    planned = at_end
    while planned < accepted and time.perf_counter() - started < drain_s:
        time.sleep(1)
        planned = _planned(schema)
    return {
        "planned_at_end_of_load": at_end,
        "planned_after_drain": planned,
        "drain_s": time.perf_counter() - started,
    }


def summarise(
    run: IngestRun,
    result: LoadResult,
    rss: RssSampler,
    api: Process,
    worker: Process | None,
    drained: dict[str, float],
) -> dict[str, Any]:
    p50, p99 = latency_ms(result.latencies)
    api_prefix = f"{api.name}:"
    pipeline_s = result.elapsed_s + drained.get("drain_s", 0.0)
    return {
        "label": run.label,
        "rate": result.rate,
        "p50_ms": p50,
        "p99_ms": p99,
        "requests": result.ok,
        "statuses": {str(k): v for k, v in result.statuses.items()},
        "errors": result.errors,
        "sample_non_2xx": {
            str(k): v.decode("utf-8", "replace")[:300]
            for k, v in result.samples.items()
            if not 200 <= k < 300
        },
        "elapsed_s": result.elapsed_s,
        "planned_rate": drained.get("planned_after_drain", 0.0) / pipeline_s if drained else None,
        **drained,
        "api_peak_rss_mb": rss.peak(api_prefix),
        "worker_peak_rss_mb": rss.peak("worker:") if worker else None,
        "rss_growth": rss_growth(rss, api_prefix),
        "worker_rss_growth": rss_growth(rss, "worker:") if worker else None,
        "rss_series": rss.series(api_prefix)[:: max(1, len(rss.samples) // 60)],
        "worker_rss_series": rss.series("worker:")[:: max(1, len(rss.samples) // 60)],
    }


def rss_growth(rss: RssSampler, prefix: str, warmup_s: float = 30.0) -> float | None:
    """Largest relative change of one process's RSS (an API worker, or the worker) between the
    first and the last window after warm-up (each a sixth of the run); None if too short."""
    keys = {k for _, s in rss.samples for k in s if k.startswith(prefix)}
    growths = []
    for key in keys:
        series = [s.get(key, 0.0) for t, s in rss.samples if t >= warmup_s]
        series = [v for v in series if v > 0]
        if len(series) < 12 or max(series) < 40:  # too short, or not a worker (supervisor)
            continue
        window = len(series) // 6
        first = percentile(series[:window], 50)
        last = percentile(series[-window:], 50)
        growths.append(last / first - 1)
    return max(growths, key=abs) if growths else None
