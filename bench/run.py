"""One command for every benchmark: `python -m bench.run [--quick]`.

Runs on PostgreSQL (database newborn_ledger_bench, a fresh schema per phase) and, for the
lifecycle, on SQLite; prints figure | ours | baseline | ratio | target | met? and writes the
results as JSON to bench/results/. Full run: under 10 minutes on 2 cores; --quick: ~1 minute.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from adapters.bootstrap import build
from bench import deliveries, deployed, ingest, lifecycle, machine, pgdb, reads, rebuild, synthetic
from bench.stats import Figure, table

RESULTS = Path(__file__).resolve().parent / "results"


@dataclass(frozen=True)
class Plan:
    """How long and how big each phase is."""

    cpu_s: float  # validation-only and parse-only baselines
    raw_s: float  # raw INSERT + COMMIT baseline
    ingest_s: float  # 1 API worker + worker process
    embedded_s: float  # 1 API worker settling in the request (the default `serve`)
    soak_s: float  # 2 API workers + worker process: the memory run
    drain_s: float  # at most this long for the worker to plan the backlog
    lifecycle_cases: int
    lifecycle_s: float
    deployed: deployed.Bounds  # the lifecycle with the worker in its own process
    sqlite_cases: int
    read_s: float
    read_workers: tuple[int, ...]
    small_cases: int  # as_of "10k cases" ledger
    log_events: int  # rebuild log ("at least 1 million events")
    big_cases: int  # as_of "1M cases" ledger
    rebuild_s: float
    rebuild_parts: int  # processes of the rebuild in parts (the machine's 2 cores)
    as_of_s: float
    deliveries: deliveries.Bounds  # registry deliveries: two lifecycles and a backlog a store


FULL = Plan(
    cpu_s=4, raw_s=4, ingest_s=20, embedded_s=10, soak_s=300, drain_s=10,
    lifecycle_cases=400, lifecycle_s=20,
    deployed=deployed.Bounds(cases=3000, seconds=14, in_flight=400, rate=100, drain_s=12),
    sqlite_cases=200, read_s=6, read_workers=(1, 2),
    small_cases=10_000, log_events=1_000_000, big_cases=1_000_000, rebuild_s=15,
    rebuild_parts=2, as_of_s=6,
    deliveries=deliveries.Bounds(cases=250, seconds=12, drain_s=20, backlog_s=30),
)  # fmt: skip
QUICK = Plan(
    cpu_s=2, raw_s=2, ingest_s=6, embedded_s=4, soak_s=10, drain_s=3,
    lifecycle_cases=50, lifecycle_s=8,
    deployed=deployed.Bounds(cases=150, seconds=5, in_flight=100, rate=50, drain_s=10),
    sqlite_cases=30, read_s=2, read_workers=(1,),
    small_cases=1_000, log_events=50_000, big_cases=20_000, rebuild_s=6,
    rebuild_parts=2, as_of_s=2,
    deliveries=deliveries.Bounds(cases=50, seconds=5, drain_s=10, backlog_s=10),
)  # fmt: skip


class Bench:
    """Runs the phases in order, collecting raw results and table figures."""

    def __init__(self, plan: Plan, log_dir: Path, nodelay: bool = True) -> None:
        self.plan, self.log_dir, self.nodelay = plan, log_dir, nodelay
        self.figures: list[Figure] = []
        self.raw: dict[str, Any] = {}

    def phase(self, name: str) -> None:
        load = os.getloadavg()[0]
        self.raw.setdefault("phases", []).append({"phase": name, "at": time.time(), "load": load})
        print(
            f"[{time.strftime('%H:%M:%S')}] {name} (load {load:.2f})", file=sys.stderr, flush=True
        )

    def run_ingest(self) -> None:
        plan = self.plan
        self.phase("ingest baselines: validation-only, parse-only, raw INSERT + COMMIT")
        messages = ingest.sample_messages("base", 200)
        validate = ingest.cpu_rate("validate", messages, plan.cpu_s)
        parse = ingest.cpu_rate("parse", messages, plan.cpu_s)
        pgdb.fresh_schema("bench_ingest_raw")
        raw = ingest.raw_insert_rate("bench_ingest_raw", messages, plan.raw_s, threads=8)
        sizes = [len(m.body) for m in messages]
        self.raw["ingest_baselines"] = {
            "validate_per_core": validate, "parse_per_core": parse, "raw_insert": raw,
            "message_bytes": {"min": min(sizes), "max": max(sizes)},
        }  # fmt: skip
        self.figures.append(
            Figure("intake parse alone (1 core)", "msg/s", parse, validate, "validation only")
        )
        fix = self.nodelay
        runs = [
            ingest.IngestRun("1 API worker + worker", 1, "worker", plan.ingest_s, nodelay=fix),
            ingest.IngestRun("1 API worker, embedded", 1, "embedded", plan.embedded_s, nodelay=fix),
            ingest.IngestRun(
                "2 API workers + worker (soak)", 2, "worker", plan.soak_s, nodelay=fix
            ),
        ]
        for n, run in enumerate(runs):
            self.phase(f"ingest: {run.label}, {run.seconds:g} s")
            result = ingest.measure(run, f"bench_ingest_{n}", self.log_dir, plan.drain_s)
            pgdb.drop_schema(f"bench_ingest_{n}")  # its autovacuum would run in later phases
            self.raw.setdefault("ingest", []).append(result)
            self._ingest_figures(run, result, validate, raw)

    def _ingest_figures(
        self, run: ingest.IngestRun, r: dict[str, Any], validate: float, raw: float
    ) -> None:
        per_worker = r["rate"] / run.workers
        self.figures += [
            Figure(f"ingest/worker: {run.label}", "msg/s", per_worker, validate,
                   "validation/core", target=300, target_ratio=0.75),
            Figure(f"ingest total: {run.label}", "msg/s", r["rate"], raw, "raw INSERT+COMMIT"),
            Figure(f"ingest p50 / p99: {run.label}", "ms", r["p50_ms"],
                   notes=f"p99 {r['p99_ms']:.0f} ms"),
        ]  # fmt: skip
        if r.get("planned_rate") is not None and run.topology == "worker":
            self.figures.append(
                Figure(f"ingest → planned: {run.label}", "msg/s", r["planned_rate"], r["rate"],
                       "accepted", notes="worker's planning rate incl. drain")
            )  # fmt: skip
        cpu = r["cpu_ms_per_message"]  # CPU ms per accepted message, by party
        self.figures.append(
            Figure(f"ingest CPU/msg, API: {run.label}", "ms", cpu["api"], 1e3 / validate,
                   "stock validation alone", kind="max")
        )  # fmt: skip
        if run.topology == "worker" and run.workers == 1:
            self.figures += [
                Figure(f"ingest CPU/msg, {party}: {run.label}", "ms", cpu[party])
                for party in ("worker", "postgres", "load generator")
            ]
        if run.topology == "worker" and run.workers == 2:
            self._memory_figures(r)

    def _memory_figures(self, r: dict[str, Any]) -> None:
        growth = r["rss_growth"]
        self.figures += [
            Figure("API peak RSS (per process)", "MB", r["api_peak_rss_mb"]),
            Figure("worker peak RSS", "MB", r["worker_peak_rss_mb"]),
            Figure("API RSS growth over soak", "%", None if growth is None else 100 * abs(growth),
                   target=10, kind="max", notes=f"{self.plan.soak_s:g} s run"),
            Figure("worker RSS change over soak", "%", _percent(r["worker_rss_growth"]),
                   notes="signed; the projection memo fills up to its bound"),
        ]  # fmt: skip

    def run_lifecycle(self) -> None:
        plan = self.plan
        self.phase(f"lifecycle on PostgreSQL: up to {plan.lifecycle_cases} cases")
        pg = lifecycle.on_postgres("bench_lifecycle", plan.lifecycle_cases, plan.lifecycle_s)
        self.phase(f"lifecycle on SQLite: up to {plan.sqlite_cases} cases")
        folder = self.log_dir / "sqlite-lifecycle"
        lite = lifecycle.on_sqlite(folder, plan.sqlite_cases, plan.lifecycle_s)
        self.raw["lifecycle"] = {"postgres": pg, "sqlite": lite}
        waves = "PostgreSQL, one process, waves"
        for store, r, target in ((waves, pg, 200.0), ("SQLite", lite, None)):
            per_case = r["rows"] / max(1, r["cases"])
            self.figures += [
                Figure(f"lifecycle cases/s ({store})", "cases/s", r["cases_per_s"],
                       r["raw_rate"] / per_case, "raw inserts, same rows", target=target),
                Figure(f"lifecycle events/s ({store})", "ev/s", r["events_per_s"], r["raw_rate"],
                       "raw inserts, same rows", notes=f"{per_case:.0f} events/case"),
                Figure(f"lifecycle CPU/case, process ({store})", "ms", r["cpu_ms_per_case"]),
            ]  # fmt: skip
        self.figures.append(
            Figure("lifecycle CPU/case, PostgreSQL server (one process, waves)", "ms",
                   pg["pg_cpu_ms_per_case"])
        )  # fmt: skip
        self.run_deployed()

    def run_deployed(self) -> None:
        bounds = self.plan.deployed
        self.phase(
            f"lifecycle on PostgreSQL with the worker process: up to {bounds.cases} cases, "
            f"{bounds.in_flight} in flight, {bounds.seconds:g} s + drain {bounds.drain_s:g} s"
        )
        r = deployed.on_postgres("bench_lifecycle_worker", bounds, self.log_dir)
        self.raw["lifecycle"]["postgres_worker_process"] = r
        print(f"  {r['completed']} of {r['cases']} cases completed in {r['elapsed_s']:.1f} s "
              f"({r['completed_in_ledger']} once the worker stopped); the bench's errors: "
              f"{r['errors'] or 'none'}; {r['worker_log_errors']} error lines in "
              f"{r['worker_log']}; the busiest "
              f"office desk worked {max(r['desk_busy']):.0%} of the time",
              file=sys.stderr)  # fmt: skip
        self._deployed_figures(r)

    def _deployed_figures(self, r: dict[str, Any]) -> None:
        label, per_case = "PostgreSQL, worker process", r["rows"] / max(1, r["cases"])
        cpu, bound = r["cpu_ms_per_case"], self.plan.deployed.in_flight
        done = (
            f"{r['completed']} of {r['cases']} completed in {r['elapsed_s']:.0f} s; "
            f"{r['in_flight_full_s']:.0f} of {r['notifying_s']:.0f} s at {bound} in flight"
        )
        self.figures += [
            Figure(f"lifecycle cases/s ({label})", "cases/s", r["cases_per_s"],
                   r["raw_rate"] / per_case, "raw inserts, same rows", target=200.0,
                   notes=done),
            Figure(f"lifecycle events/s ({label})", "ev/s", r["events_per_s"], r["raw_rate"],
                   "raw inserts, same rows", notes=f"{per_case:.0f} events/case"),
            Figure(f"lifecycle cases/s after the fill ({label})", "cases/s",
                   r["after_fill_cases_per_s"],
                   notes="from the first completion seen to the end of the run"),
            Figure(f"lifecycle notify→completed p50 ({label})", "s", r["case_s_p50"]),
            Figure(f"lifecycle notify→completed p99 ({label})", "s", r["case_s_p99"]),
        ]  # fmt: skip
        parties = (("bench: hospitals + offices", "bench"), ("worker", "worker"),
                   ("PostgreSQL server", "postgres"))  # fmt: skip
        self.figures += [
            Figure(f"lifecycle CPU/case, {name} (worker process)", "ms", cpu[key])
            for name, key in parties
        ]

    def run_reads(self) -> None:
        settings = pgdb.settings("bench_lifecycle", embedded_worker=False)
        cases = self.raw["lifecycle"]["postgres"]["cases"]
        for workers in self.plan.read_workers:
            self.phase(f"reads: status, queue, bare with {workers} worker(s)")
            pgdb.quiesce("bench_lifecycle")
            r = reads.measure_reads(
                settings,
                "bench-lifecycle",
                cases,
                workers,
                self.plan.read_s,
                self.log_dir,
                nodelay=self.nodelay,
            )
            self.raw.setdefault("reads", {})[f"{workers}w"] = r
            bare, label = r["bare"], f"{workers} worker{'s' if workers > 1 else ''}"
            for name in ("status", "queue"):
                ours = r[name]
                target = 3000.0 * workers if name == "status" else None
                self.figures += [
                    Figure(f"{name} read, {label}", "req/s", ours["rate"], bare["rate"],
                           "bare endpoint", target=target, notes=ours["tool"]),
                    Figure(f"{name} read p99, {label}", "ms", ours["p99_ms"], bare["p99_ms"],
                           "bare endpoint", target=10.0 if name == "status" else None,
                           kind="max", notes=f"p50 {ours['p50_ms']:.1f} ms"),
                ]  # fmt: skip
            ours, without = r["status"], r["status_unaudited"]
            self.figures += [
                Figure(f"status read with its audit, {label}", "req/s", ours["rate"],
                       without["rate"], "same read, unaudited", notes=ours["tool"]),
                Figure(f"status read p99 with its audit, {label}", "ms", ours["p99_ms"],
                       without["p99_ms"], "same read, unaudited", kind="max",
                       notes=f"unaudited p50 {without['p50_ms']:.1f} ms"),
            ]  # fmt: skip

    def run_rebuild_and_as_of(self) -> None:
        plan = self.plan
        schema = "bench_rebuild"
        pgdb.fresh_schema(schema)
        settings = pgdb.settings(schema, embedded_worker=False)
        build(settings).close()  # the library creates its tables, and the views theirs
        template = synthetic.make_template(settings)
        moment = synthetic.midway(template)
        log_cases = -(-plan.log_events // int(synthetic.events_per_case(template)))
        self.phase(f"rebuild log: {plan.small_cases} cases, then as_of")
        written = [rebuild.write_log(settings, template, 0, plan.small_cases)]
        pgdb.quiesce(schema)  # as before every latency measurement
        small = reads.measure_as_of(
            settings, "rb", plan.small_cases, moment, plan.as_of_s, self.log_dir
        )
        self.phase(f"rebuild log: up to {log_cases} cases (≥ {plan.log_events} events)")
        written.append(rebuild.write_log(settings, template, plan.small_cases,
                                         log_cases - plan.small_cases))  # fmt: skip
        self._rebuild(settings, written)
        self.phase(f"as_of: grow the ledger to {plan.big_cases} cases")
        filled = rebuild.add_filler_cases(schema, plan.big_cases - rebuild.cases_in(schema))
        pgdb.quiesce(schema)  # the rebuilds' deleted rows and writes, not left to land in it
        big = reads.measure_as_of(
            settings, "rb", plan.small_cases, moment, plan.as_of_s, self.log_dir
        )
        total = rebuild.cases_in(schema)
        self.raw["as_of"] = {"small": small, "big": big, "filler_s": filled, "cases": total}
        self.figures += [
            Figure(f"as_of p50 at {total:,} vs {plan.small_cases:,} cases", "ms",
                   big["p50_ms"], small["p50_ms"], f"at {plan.small_cases:,}",
                   target_ratio=1.3, kind="max", notes=f"p99 {big['p99_ms']:.1f} ms"),
            Figure(f"as_of read at {total:,} cases", "req/s", big["rate"], small["rate"],
                   f"at {plan.small_cases:,}"),
        ]  # fmt: skip

    def _rebuild(self, settings: Any, written: list[dict[str, float]]) -> None:
        schema = settings.postgres.schema
        self.phase(f"rebuild case_status (at most {self.plan.rebuild_s:g} s), then raw")
        ours = rebuild.rebuild(settings, "case_status", self.plan.rebuild_s)
        raw = rebuild.raw_select_decode(
            schema, ours["topics"], ours["position"], self.plan.rebuild_s
        )
        parts = self.plan.rebuild_parts
        self.phase(f"rebuild case_status in {parts} processes (at most {self.plan.rebuild_s:g} s)")
        split = rebuild.rebuild_in_parts(settings, "case_status", parts, self.plan.rebuild_s)
        self.raw["rebuild"] = {
            "log": written, "case_status": ours, "raw_rate": raw, "in_parts": split
        }  # fmt: skip
        for label, found in (("", ours), (f", {parts} processes", split)):
            covered = f"{found['events']:,} of {found['log_events_of_topics']:,} events"
            self.figures.append(
                Figure(f"rebuild case_status{label}", "ev/s", found["events_per_s"], raw,
                       "raw select+decode", target=50_000, target_ratio=0.7,
                       notes=covered + ("" if found["finished"] else " (time-boxed)"))
            )  # fmt: skip

    def run_deliveries(self) -> None:
        bounds = self.plan.deliveries
        found: dict[str, Any] = {}
        for store in ("PostgreSQL", "SQLite"):
            self.phase(
                f"deliveries on {store}: lifecycles of up to {bounds.cases} cases without and "
                f"with the office feed and its systems, then the feed's backlog"
            )
            if store == "PostgreSQL":
                r = deliveries.on_postgres("bench_deliveries", bounds, self.log_dir)
            else:
                r = deliveries.on_sqlite(self.log_dir / "sqlite-deliveries", bounds, self.log_dir)
            found[store] = r
            self._deliveries_figures(store, r)
        self.raw["deliveries"] = found

    def _deliveries_figures(self, store: str, r: dict[str, Any]) -> None:
        backlog, raw = r["backlog"], r["backlog"]["baseline"]
        off, on = r["without"], r["with"]
        sent = (
            f"{backlog['delivered']} of {backlog['messages']} to {backlog['systems']} systems; "
            f"{backlog['threads']} threads, {backlog['in_flight']} in flight per system"
        )
        self.figures += [
            Figure(f"deliveries/s, one worker ({store})", "msg/s", backlog["rate"], raw["rate"],
                   "raw httpx POSTs", notes=sent),
            Figure(f"delivery CPU, process ({store})", "ms", backlog["cpu_ms_per_delivery"],
                   raw["cpu_ms_per_post"], "raw httpx POST", kind="max"),
        ]  # fmt: skip
        if store == "PostgreSQL":
            self.figures.append(
                Figure("delivery CPU, PostgreSQL server", "ms",
                       backlog["pg_cpu_ms_per_delivery"])
            )  # fmt: skip
        self.figures.append(
            Figure(f"signing a delivery (1 core, {store} run)", "msg/s", backlog["signing_per_s"])
        )
        per_case = on["messages"] / max(1, on["cases"])
        drained = (
            f"{on['delivered']} of {on['messages']} messages delivered "
            f"{on['drain_s']:.1f} s after the last case"
        )
        feed = r["feed_only"]

        def cpu(run: dict[str, Any]) -> float:
            return float(run["total_cpu_ms_per_case"] + run["total_pg_cpu_ms_per_case"])

        self.figures += [
            Figure(f"lifecycle cases/s with the feed, no systems ({store})", "cases/s",
                   feed["cases_per_s"], off["cases_per_s"], "no feed, no systems"),
            Figure(f"lifecycle cases/s with feed + deliveries ({store})", "cases/s",
                   on["cases_per_s"], off["cases_per_s"], "no feed, no systems", notes=drained),
            Figure(f"lifecycle CPU/case with feed + deliveries, process ({store})", "ms",
                   on["total_cpu_ms_per_case"], off["total_cpu_ms_per_case"],
                   "no feed, no systems", kind="max"),
        ]  # fmt: skip
        if store == "PostgreSQL":
            self.figures.append(
                Figure("lifecycle CPU/case with feed + deliveries, PostgreSQL server", "ms",
                       on["total_pg_cpu_ms_per_case"], off["total_pg_cpu_ms_per_case"],
                       "no feed, no systems", kind="max")
            )  # fmt: skip
        self.figures += [
            Figure(f"added CPU/case: the feed ({store})", "ms", cpu(feed) - cpu(off),
                   notes="process + server"),
            Figure(f"added CPU/case: feed + deliveries ({store})", "ms", cpu(on) - cpu(off),
                   notes=f"process + server, drain included; {per_case:.1f} deliveries a case"),
        ]  # fmt: skip


def _percent(fraction: float | None) -> float | None:
    return None if fraction is None else 100 * fraction


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a ~1 minute smoke run")
    parser.add_argument(
        "--only",
        default="ingest,lifecycle,reads,rebuild",
        help="comma-separated phases (reads needs lifecycle; deliveries is not in the default)",
    )
    parser.add_argument(
        "--plain-uvicorn",
        action="store_true",
        help="serve with `uvicorn --workers N` (no TCP_NODELAY fix) instead of as `serve` does",
    )
    parser.add_argument("--soak-seconds", type=float, help="override the soak's duration")
    args = parser.parse_args(argv)
    plan = QUICK if args.quick else FULL
    if args.soak_seconds is not None:
        plan = replace(plan, soak_s=args.soak_seconds)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    log_dir = RESULTS / f"logs-{stamp}"
    log_dir.mkdir(parents=True, exist_ok=True)
    bench, started = Bench(plan, log_dir, not args.plain_uvicorn), time.perf_counter()
    code_at_start = machine.code_version()
    bench.phase(f"dropped old schemas: {', '.join(pgdb.drop_bench_schemas()) or 'none'}")
    phases = {
        "ingest": bench.run_ingest,
        "lifecycle": bench.run_lifecycle,
        "reads": bench.run_reads,
        "rebuild": bench.run_rebuild_and_as_of,
        "deliveries": bench.run_deliveries,
    }
    for name in args.only.split(","):
        phases[name.strip()]()
    report: dict[str, Any] = {
        "mode": "quick" if args.quick else "full",
        "served_as": "uvicorn --workers" if args.plain_uvicorn else "newborn-ledger serve",
        "plan": asdict(plan),
        "started": stamp,
        "seconds": time.perf_counter() - started,
        "machine": machine.describe(),
        "code_at_start": code_at_start,
        "figures": [f.to_dict() for f in bench.figures],
        "raw": bench.raw,
    }
    path = RESULTS / f"run-{stamp}.json"
    path.write_text(json.dumps(report, indent=1, default=str))
    print(table(bench.figures))
    fix = " with plain uvicorn --workers" if args.plain_uvicorn else ""
    code = report["machine"]["code"]
    if code != code_at_start:
        code = f"{code_at_start} → {code} (the code changed during the run)"
    print(f"\n{report['mode']} run{fix} on {code} in {report['seconds']:.0f} s; results in {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
