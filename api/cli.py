"""The `newborn-ledger` command: serve, demo, check, actor add|list|revoke, keygen."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
from collections.abc import Callable, Sequence
from uuid import UUID

import orjson

from adapters.bootstrap import StoreUnavailableError, build
from adapters.settings import ConfigError, Settings
from domain.errors import DomainError

log = logging.getLogger("newborn_ledger")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="newborn-ledger", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the HTTP API (uvicorn)")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.add_argument("--workers", type=int)
    demo = sub.add_parser("demo", help="an end-to-end run on a fresh SQLite store")
    demo.add_argument("--dir", default="./var/demo", help="where the fresh demo store goes")
    sub.add_parser("worker", help="run orchestration, projections and time limits (PostgreSQL)")
    sub.add_parser("check", help="check the configuration and that the store answers")
    sub.add_parser("keygen", help="print a new base64 AES key for NEWBORN_LEDGER_CIPHER_KEY")
    actor = sub.add_parser("actor", help="manage who may call the API")
    actor_sub = actor.add_subparsers(dest="actor_command", required=True)
    add = actor_sub.add_parser("add", help="add an actor; prints its token alone on the last line")
    add.add_argument("--role", required=True, choices=["hospital", "office", "monitor", "admin"])
    add.add_argument(
        "--scope", help="USCC (hospital), locality code (office), province or 'national'"
    )
    add.add_argument("--authority", help="office authority: health, cdc, public-security, ...")
    add.add_argument("--label", default="", help="a note for operators (no personal data)")
    actor_sub.add_parser("list", help="list actors (never their tokens)")
    revoke = actor_sub.add_parser("revoke", help="revoke an actor's token")
    revoke.add_argument("actor_id")
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
    except (ConfigError, StoreUnavailableError) as exc:
        print(f"newborn-ledger: {exc}", file=sys.stderr)
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
            for row in actors.summary():
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
    os.environ["NEWBORN_LEDGER_HOST"] = host  # workers re-read settings from the environment
    uvicorn.run(
        "api.asgi:create",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="info",
        access_log=False,
    )
    return 0


def cmd_worker(settings: Settings, args: argparse.Namespace) -> int:
    from adapters.scheduler import make_scheduler

    container = build(settings)
    scheduler = make_scheduler(container.jobs(), blocking=True)
    signal.signal(signal.SIGTERM, lambda signum, frame: scheduler.shutdown(wait=False))
    log.info("worker started on %s", settings.persistence)
    try:
        scheduler.start()  # blocks until SIGTERM (shutdown) or SIGINT (KeyboardInterrupt)
    finally:
        container.close()
    log.info("worker stopped")
    return 0


def cmd_demo(settings: Settings, args: argparse.Namespace) -> int:
    from api.demo import run_demo

    return run_demo(settings, args.dir)


COMMANDS: dict[str, Callable[[Settings, argparse.Namespace], int]] = {
    "serve": cmd_serve,
    "demo": cmd_demo,
    "check": cmd_check,
    "keygen": cmd_keygen,
    "actor": cmd_actor,
    "worker": cmd_worker,
}

if __name__ == "__main__":
    sys.exit(main())
