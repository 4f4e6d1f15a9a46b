"""The `newborn-ledger` command: the case ledger's server, worker, demo and operator tools.

Each command's own help: newborn-ledger COMMAND --help (docs/operations.md has the details).
Output: results on stdout, errors, log lines and progress bars on stderr.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import platform
import signal
import socket
import sys
from collections.abc import Callable, Sequence
from importlib import metadata
from uuid import UUID

import orjson

from adapters.facade import (
    ROLES,
    DomainError,
    PartStoppedError,
    StoreKeyError,
    StoreUnavailableError,
    build,
    check_serve_budget,
)
from adapters.settings import ConfigError, Settings
from entry import audit_cli, deliveries_cli, keys_cli, projections_cli, registry_cli, user_cli
from entry.environment import add_sections
from entry.progress import LogAboveProgress
from entry.simulator_cli import add_parser as add_simulator_parser
from entry.simulator_cli import cmd_registry_simulator

log = logging.getLogger("newborn_ledger")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="newborn-ledger", description=__doc__)
    parser.add_argument(
        "--version", action="version", version=version(), help="print the version and exit"
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    serve = sub.add_parser("serve", help="run the HTTP API and the pages (uvicorn)")
    serve.add_argument("--host", help="the address to listen on (default $NEWBORN_LEDGER_HOST)")
    serve.add_argument("--port", type=int, help="the port (default $NEWBORN_LEDGER_PORT)")
    serve.add_argument(
        "--workers", type=int, help="API processes (default $NEWBORN_LEDGER_WORKERS)"
    )
    serve.add_argument(
        "--loop", choices=("uvloop", "asyncio", "auto"), default="uvloop", help="event loop"
    )
    serve.add_argument(
        "--http", choices=("httptools", "h11", "auto"), default="httptools", help="HTTP parser"
    )
    demo = sub.add_parser(
        "demo",
        help="births end to end over the HTTP API, on a fresh SQLite store; then how to open "
        "its pages and sign in",
    )
    demo.add_argument(
        "--dir",
        default="./var/demo",
        help="where the fresh demo store goes (emptied first; default ./var/demo)",
    )
    projections_cli.add_parser(sub)
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
        help="what the actor may do",
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
    revoke.add_argument("actor_id", help="the actor's id (from `actor list`)")
    add_simulator_parser(sub)
    registry_cli.add_parser(sub)
    audit_cli.add_parser(sub)
    keys_cli.add_parser(sub)
    user_cli.add_parser(sub)
    add_sections(parser)
    return parser


def version() -> str:
    """`newborn-ledger 0.1.0 (Python 3.12.3, eventsourcing 9.5.6)`: the installed versions."""
    try:
        own = metadata.version("newborn-ledger")
    except metadata.PackageNotFoundError:  # run from a checkout that is not installed
        own = "unknown (not installed)"
    return (
        f"newborn-ledger {own} (Python {platform.python_version()}, "
        f"eventsourcing {metadata.version('eventsourcing')})"
    )


def setup_logging() -> None:
    """Log lines on stderr, above any progress line; at INFO and above, no line per HTTP
    request the command's own HTTP client makes (httpx logs each one at INFO)."""
    level = os.environ.get("NEWBORN_LEDGER_LOG_LEVEL", "INFO").strip().upper() or "INFO"
    if not isinstance(logging.getLevelName(level), int):
        raise ConfigError(
            f"NEWBORN_LEDGER_LOG_LEVEL is {level!r}; use DEBUG, INFO, WARNING or ERROR"
        )
    handler = LogAboveProgress(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=level, handlers=[handler])  # none if the root has one (tests)
    quiet = max(logging.WARNING, logging.getLogger().getEffectiveLevel())
    for name in ("httpx", "httpcore"):
        logging.getLogger(name).setLevel(logging.NOTSET if level == "DEBUG" else quiet)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        setup_logging()
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
    "projections": projections_cli.cmd_projections,
    "registry-simulator": cmd_registry_simulator,
    "registry": registry_cli.cmd_registry,
    "audit": audit_cli.cmd_audit,
    "keys": keys_cli.cmd_keys,
    "user": user_cli.cmd_user,
}

if __name__ == "__main__":
    sys.exit(main())
