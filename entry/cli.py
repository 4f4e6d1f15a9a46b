"""The `newborn-ledger` command: serve, demo, check, actor add|list|revoke, keygen, projections,
registry-simulator, deliveries list|replay, user add|list|disable|reset-password|reset-totp."""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import signal
import socket
import sys
from collections.abc import Callable, Sequence
from uuid import UUID

import orjson

from adapters.facade import (
    PARKED_STATE,
    ROLES,
    SKIPPED_STATE,
    Container,
    DomainError,
    NotParkedError,
    ParkedRow,
    PartStoppedError,
    Projections,
    StoreKeyError,
    StoreUnavailableError,
    ViewBusyError,
    build,
    can_rebuild_in_parts,
    check_serve_budget,
    parts_in_progress,
    rebuild_in_parts,
)
from adapters.settings import ConfigError, Settings
from entry import audit_cli, deliveries_cli, registry_cli, user_cli
from entry.simulator_cli import add_parser as add_simulator_parser
from entry.simulator_cli import cmd_registry_simulator

log = logging.getLogger("newborn_ledger")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="newborn-ledger", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the HTTP API (uvicorn)")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.add_argument("--workers", type=int)
    serve.add_argument(
        "--loop", choices=("uvloop", "asyncio", "auto"), default="uvloop", help="event loop"
    )
    serve.add_argument(
        "--http", choices=("httptools", "h11", "auto"), default="httptools", help="HTTP parser"
    )
    demo = sub.add_parser("demo", help="an end-to-end run on a fresh SQLite store")
    demo.add_argument("--dir", default="./var/demo", help="where the fresh demo store goes")
    projections = sub.add_parser("projections", help="read models: status, rebuild, retry, skip")
    projections_sub = projections.add_subparsers(dest="projections_command", required=True)
    projections_sub.add_parser("status", help="each projection's lag and parked events")
    retry = projections_sub.add_parser("retry", help="apply a parked event again (after a fix)")
    skip = projections_sub.add_parser("skip", help="resolve a parked event without applying it")
    for parked in (retry, skip):
        parked.add_argument(
            "name", help="the projection, or Orchestrator or CaseLedger (as `status` lists it)"
        )
        parked.add_argument("position", type=int, help="the parked event's position")
    skip.add_argument("--by", help="who skips it, kept on record (default: $USER)")
    rebuild = projections_sub.add_parser("rebuild", help="empty and replay one or all projections")
    rebuild.add_argument("name", nargs="?", help="one projection (default: all)")
    rebuild.add_argument(
        "--processes",
        type=int,
        default=1,
        help="rebuild a per-case projection (case_status) in this many processes, each "
        "applying its share of the cases (PostgreSQL; default 1)",
    )
    sub.add_parser("worker", help="run orchestration, projections and time limits (PostgreSQL)")
    sub.add_parser("check", help="check the configuration and that the store answers")
    sub.add_parser("keygen", help="print a new base64 AES key for NEWBORN_LEDGER_CIPHER_KEY")
    deliveries_cli.add_parser(sub)
    actor = sub.add_parser("actor", help="manage who may call the API")
    actor_sub = actor.add_subparsers(dest="actor_command", required=True)
    add = actor_sub.add_parser("add", help="add an actor; prints its token alone on the last line")
    add.add_argument(
        "--role",
        required=True,
        choices=["hospital", "office", "monitor", "admin", "coordinator"],
    )
    add.add_argument(
        "--scope",
        help="USCC (hospital), locality code (office), province or 'national' (monitor, "
        "coordinator of the routing desk)",
    )
    add.add_argument("--authority", help="office authority: health, cdc, public-security, ...")
    add.add_argument("--label", default="", help="a note for operators (no personal data)")
    listing = actor_sub.add_parser("list", help="list actors (never their tokens)")
    listing.add_argument(
        "--role", choices=ROLES, help="only this role (each family sign-in is a family actor)"
    )
    revoke = actor_sub.add_parser("revoke", help="revoke an actor's token")
    revoke.add_argument("actor_id")
    add_simulator_parser(sub)
    registry_cli.add_parser(sub)
    audit_cli.add_parser(sub)
    user_cli.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(
        level=os.environ.get("NEWBORN_LEDGER_LOG_LEVEL", "INFO"),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    args = _parser().parse_args(argv)
    try:
        settings = Settings.from_env(os.environ)
        return COMMANDS[args.command](settings, args)
    except (ConfigError, StoreUnavailableError, StoreKeyError) as exc:
        print(f"newborn-ledger: {exc}", file=sys.stderr)
        return 2
    except PartStoppedError as exc:  # another rebuild started over: the view stays busy
        print(f"newborn-ledger: {exc}; the view is busy until it is rebuilt again", file=sys.stderr)
        return 2
    except DomainError as exc:
        print(f"newborn-ledger: {exc.detail}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def cmd_check(settings: Settings, args: argparse.Namespace) -> int:
    container = build(settings)
    try:
        heads = container.check_store()
    finally:
        container.close()
    print(orjson.dumps({**settings.describe(), "positions": heads}).decode())
    return 0


def cmd_keygen(settings: Settings, args: argparse.Namespace) -> int:
    from eventsourcing.cipher import AESCipher

    print(AESCipher.create_key(32))
    return 0


def cmd_actor(settings: Settings, args: argparse.Namespace) -> int:
    container = build(settings)
    try:
        actors = container.actors
        if args.actor_command == "add":
            actor, token = actors.add(args.role, args.scope, args.authority, args.label)
            print(
                f"added {actor.role} actor {actor.id} scope {actor.scope}"
                + (f" authority {actor.authority}" if actor.authority else "")
            )
            print("the token is shown once; store it now:")
            print(token)
        elif args.actor_command == "list":
            for row in actors.summary(args.role):
                print(orjson.dumps(row).decode())
        else:
            actors.revoke(_uuid(args.actor_id))
            print(f"revoked {args.actor_id}")
    finally:
        container.close()
    return 0


def _uuid(value: str) -> UUID:
    try:
        return UUID(value)
    except ValueError:
        raise ConfigError(f"{value!r} is not an actor id (a UUID from 'actor list')") from None


def cmd_serve(settings: Settings, args: argparse.Namespace) -> int:
    import uvicorn

    host = args.host or settings.host
    port = args.port or settings.port
    workers = args.workers or settings.workers
    build(settings).close()  # fail fast, with a clear message, before uvicorn starts
    if settings.persistence == "postgres":
        check_serve_budget(settings, workers)
    if warning := repeated_background(settings, workers):
        print(warning, file=sys.stderr)
    os.environ["NEWBORN_LEDGER_HOST"] = host  # workers re-read settings from the environment
    os.environ["NEWBORN_LEDGER_CREATE_TABLES"] = "no"  # done just above, once for all workers
    server = {"loop": args.loop, "http": args.http}  # uvloop + httptools: docs/operations.md
    if workers > 1:
        return serve_workers("entry.asgi:create", host, port, workers, server)
    uvicorn.run("entry.asgi:create", factory=True, host=host, port=port, workers=workers,
                log_level="info", access_log=False, **server)  # fmt: skip
    return 0


def repeated_background(settings: Settings, workers: int) -> str | None:
    """What to tell an operator who serves several workers that each run the background work
    (the embedded default): safe, every step is tracked once, but done `workers` times over."""
    if workers < 2 or not settings.embedded_worker:
        return None
    return (
        f"warning: each of the {workers} API workers runs the background work (orchestration, "
        "projections, deadline job) too: safe, but repeated; set "
        "NEWBORN_LEDGER_EMBEDDED_WORKER=no and run one `newborn-ledger worker` (PostgreSQL), "
        "or serve one worker (SQLite)"
    )


def serve_workers(app: str, host: str, port: int, workers: int, server: dict[str, str]) -> int:
    """uvicorn's own --workers path binds the shared socket with proto 0, so asyncio never sets
    TCP_NODELAY on the accepted connections (uvicorn issue #3149) and every keep-alive response
    waits ~40 ms for the client's delayed ACK. Same supervisor, socket re-wrapped as TCP."""
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    config = uvicorn.Config(
        app,
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="info",
        access_log=False,
        **server,  # type: ignore[arg-type]
    )
    bound = config.bind_socket()
    tcp = socket.socket(bound.family, bound.type, socket.IPPROTO_TCP, fileno=bound.detach())
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl+C is a normal stop, as in uvicorn.run
        Multiprocess(config, sockets=[tcp]).run()
    return 0


def cmd_worker(settings: Settings, args: argparse.Namespace) -> int:
    container = build(settings)
    background = container.background()
    signal.signal(signal.SIGTERM, lambda signum, frame: background.stop_soon())
    log.info("worker started on %s", settings.persistence)
    try:
        background.start()
        background.wait()  # until SIGTERM, or SIGINT (KeyboardInterrupt)
    finally:
        background.stop()  # a tick in progress finishes before the stores close
        container.close()
    log.info("worker stopped")
    return 0


def cmd_projections(settings: Settings, args: argparse.Namespace) -> int:
    container = build(settings)
    try:
        projections = container.projections
        if args.projections_command == "status":
            _print_status(container)
            return 0
        if args.projections_command in ("retry", "skip"):
            return _resolve_parked(container, args)
        names = [args.name] if args.name else list(projections.all())
        if args.processes < 1:
            raise ConfigError("--processes must be 1 or more")
        for name in names:
            if name not in projections.all():
                raise ConfigError(f"No projection {name!r}; known: {', '.join(projections.all())}")
            if args.processes > 1 and (args.name or can_rebuild_in_parts(projections, name)):
                applied = _rebuild_in_parts(settings, projections, name, args.processes)
            else:
                applied = projections.rebuild(name, progress=ProgressBar(name))
            print(f"\r{name}: rebuilt, {applied} events applied", " " * 20)
    finally:
        container.close()
    return 0


def _print_status(container: Container) -> None:
    """Each view's lag (and how many events it parked, if any), then its parked events, one
    line each (no personal data); then the notifications a process application parked, if any."""
    projections, parked = container.projections, container.parked()
    for name, lag in projections.lags().items():
        print(f"{name}: {lag} behind{_counts(parked[name])}{_parts_note(projections, name)}")
        _print_parked(parked[name])
    for name in container.processing.processors():
        if parked[name]:
            print(f"{name} (processing){_counts(parked[name])}")
            _print_parked(parked[name])


def _counts(parked: list[ParkedRow]) -> str:
    waiting = sum(p.state == PARKED_STATE for p in parked)
    skipped = sum(p.state == SKIPPED_STATE for p in parked)
    return (f", {waiting} parked" if waiting else "") + (f", {skipped} skipped" if skipped else "")


def _print_parked(parked: list[ParkedRow]) -> None:
    for p in parked:
        if p.state == PARKED_STATE:
            print(
                f"  parked at {p.position}: {p.topic.rsplit(':', 1)[-1]} of {p.originator_id} "
                f"v{p.originator_version}: {p.error}: {p.reason} "
                f"(since {p.parked_at}, {p.attempts} attempt{'s' * (p.attempts > 1)})"
            )


def _resolve_parked(container: Container, args: argparse.Namespace) -> int:
    """`projections retry|skip NAME POSITION`: 0 done, 1 failed again, 2 nothing to do."""
    name, position = args.name, args.position
    known = [*container.projections.all(), *container.processing.processors()]
    if name not in known:
        raise ConfigError(f"No projection {name!r}; known: {', '.join(known)}")
    try:
        if args.projections_command == "skip":
            by = args.by or os.environ.get("USER") or "operator"
            container.skip_parked(name, position, by)
            print(f"{name}: parked event {position} skipped by {by} (kept on record)")
            return 0
        still = container.retry_parked(name, position)
    except (NotParkedError, ViewBusyError) as exc:
        print(f"newborn-ledger: {exc}", file=sys.stderr)
        return 2
    if still is not None:
        print(f"{name}: event {position} still parked: {still.error}: {still.reason}")
        return 1
    print(f"{name}: parked event {position} applied")
    return 0


def _rebuild_in_parts(settings: Settings, projections: Projections, name: str, parts: int) -> int:
    """`name` rebuilt by `parts` processes up to the head, then caught up past it."""
    done = rebuild_in_parts(settings, projections, name, parts, ProgressBar(name))
    return done.applied + projections.catch_up(name)


def _parts_note(projections: Projections, name: str) -> str:
    """', being rebuilt in parts: …' while a rebuild in parts runs or was interrupted."""
    positions = parts_in_progress(projections, name)
    if not positions:
        return ""
    shown = ", ".join(f"{part} at {p}" for part, p in sorted(positions.items()))
    return f" (being rebuilt in parts, or interrupted: {shown})"


class ProgressBar:
    """A one-line bar on stderr: position of the page read against the log's head."""

    def __init__(self, name: str, width: int = 30) -> None:
        self.name, self.width = name, width

    def __call__(self, position: int, head: int) -> None:
        done = position / head if head else 1.0
        filled = int(done * self.width)
        bar = "#" * filled + "-" * (self.width - filled)
        print(f"\r{self.name}: [{bar}] {position}/{head}", end="", file=sys.stderr, flush=True)


def cmd_demo(settings: Settings, args: argparse.Namespace) -> int:
    from entry.demo import run_demo

    return run_demo(settings, args.dir)


COMMANDS: dict[str, Callable[[Settings, argparse.Namespace], int]] = {
    "serve": cmd_serve,
    "demo": cmd_demo,
    "deliveries": deliveries_cli.cmd_deliveries,
    "check": cmd_check,
    "keygen": cmd_keygen,
    "actor": cmd_actor,
    "worker": cmd_worker,
    "projections": cmd_projections,
    "registry-simulator": cmd_registry_simulator,
    "registry": registry_cli.cmd_registry,
    "audit": audit_cli.cmd_audit,
    "user": user_cli.cmd_user,
}

if __name__ == "__main__":
    sys.exit(main())
