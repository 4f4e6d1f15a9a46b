"""`newborn-ledger projections status|rebuild|retry|skip`: the read models (docs/operations.md,
Projections). A rebuild says what happened: how many events it applied, that another process
(a running worker) moved the view's position on meanwhile, or that the log holds no events of
the view's kinds; its bar is on stderr."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from adapters.facade import (
    PARKED_STATE,
    SKIPPED_STATE,
    Container,
    NotParkedError,
    ParkedRow,
    Projections,
    ViewBusyError,
    build,
    can_rebuild_in_parts,
    parts_in_progress,
    rebuild_in_parts,
)
from adapters.settings import ConfigError, Settings
from entry.progress import Progress


def add_parser(sub: Any) -> None:
    """The `projections` command and its subcommands, on the main parser's subparsers."""
    projections = sub.add_parser(
        "projections", help="read models: status, rebuild, retry, skip", description=__doc__
    )
    commands = projections.add_subparsers(dest="projections_command", required=True)
    commands.add_parser("status", help="each projection's lag and parked events")
    retry = commands.add_parser("retry", help="apply a parked event again (after a fix)")
    skip = commands.add_parser("skip", help="resolve a parked event without applying it")
    for parked in (retry, skip):
        parked.add_argument(
            "name", help="the projection, or Orchestrator or CaseLedger (as `status` lists it)"
        )
        parked.add_argument("position", type=int, help="the parked event's position")
    skip.add_argument("--by", help="who skips it, kept on record (default: $USER)")
    rebuild = commands.add_parser(
        "rebuild",
        help="empty and replay one or all projections; says how many events it applied",
    )
    rebuild.add_argument("name", nargs="?", help="one projection (default: all)")
    rebuild.add_argument(
        "--processes",
        type=int,
        default=1,
        help="rebuild a per-case projection (case_status) in this many processes, each "
        "applying its share of the cases (PostgreSQL; default 1)",
    )


def cmd_projections(settings: Settings, args: argparse.Namespace) -> int:
    container = build(settings)
    try:
        if args.projections_command == "status":
            _print_status(container)
            return 0
        if args.projections_command in ("retry", "skip"):
            return _resolve_parked(container, args)
        return _rebuild(settings, container, args)
    finally:
        container.close()


def _rebuild(settings: Settings, container: Container, args: argparse.Namespace) -> int:
    projections = container.projections
    names = [args.name] if args.name else list(projections.all())
    if args.processes < 1:
        raise ConfigError("--processes must be 1 or more")
    unknown = [name for name in names if name not in projections.all()]
    if unknown:
        raise ConfigError(f"No projection {unknown[0]!r}; known: {', '.join(projections.all())}")
    for name in names:
        progress = Progress()
        written = Written(_bar(progress, name))
        try:
            if args.processes > 1 and (args.name or can_rebuild_in_parts(projections, name)):
                done = rebuild_in_parts(settings, projections, name, args.processes, written)
                written.position = max(written.position, done.head if done.finished else 0)
                applied = done.applied + projections.catch_up(name, progress=written)
            else:
                applied = projections.rebuild(name, progress=written)
        finally:
            progress.done()
        print(Rebuilt.of(container, name, applied, written.position).message(), flush=True)
    return 0


def _bar(progress: Progress, name: str) -> Callable[[int, int], None]:
    return lambda position, head: progress.bar(name, position, head)


class Written:
    """A rebuild's progress: the bar, and the furthest position this run wrote (each page
    it commits reports it). A view found further on was moved by another process."""

    def __init__(self, bar: Callable[[int, int], None]) -> None:
        self.bar, self.position = bar, 0

    def __call__(self, position: int, head: int) -> None:
        self.position = max(self.position, position)
        self.bar(position, head)


@dataclass(frozen=True)
class Rebuilt:
    """What a rebuild of one view did, as read once it returned."""

    name: str
    applied: int  # events this process applied
    wrote: int  # the furthest position this run wrote (0: none)
    position: int  # the view's position now
    head: int  # the log's last position now
    parked: int  # events the view parked (unresolved)

    @classmethod
    def of(cls, container: Container, name: str, applied: int, wrote: int) -> Rebuilt:
        projections = container.projections
        head = projections.app.recorder.max_notification_id() or 0
        parked = sum(p.state == PARKED_STATE for p in container.parked()[name])
        return cls(name, applied, wrote, head - projections.lag(name), head, parked)

    def message(self) -> str:
        events = f"{self.applied} event{'s' * (self.applied != 1)}"
        if self.head == 0:
            said = "emptied; the log has no events yet, so there was nothing to apply"
        elif self.position < self.head:
            said = (
                f"not finished: {events} applied, {self.head - self.position} behind the "
                f"head ({self.head}); another rebuild holds the view (see `projections status`)"
            )
        elif self.position > self.wrote:  # not this run's pages: another process's
            said = self._moved(events)
        elif self.applied == 0 and not self.parked:
            said = (
                "emptied and replayed: the log has no events of its kinds, so there was "
                f"nothing to apply; its position is the log's head ({self.head})"
            )
        else:
            said = f"rebuilt: {events} applied, up to position {self.head} (the log's head)"
        if self.parked:
            said += f"; {self.parked} parked (see `projections status`)"
        return f"{self.name}: {said}"

    def _moved(self, events: str) -> str:
        if self.wrote == 0:
            return (
                "emptied, and already up to date again: another process (a running worker) "
                f"applied the events up to position {self.head} meanwhile"
            )
        return (
            f"rebuilt: {events} applied, up to position {self.wrote}; another process (a "
            f"running worker) applied the events after it up to position {self.head} meanwhile"
        )


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


def _parts_note(projections: Projections, name: str) -> str:
    """', being rebuilt in parts: …' while a rebuild in parts runs or was interrupted."""
    positions = parts_in_progress(projections, name)
    if not positions:
        return ""
    shown = ", ".join(f"{part} at {p}" for part, p in sorted(positions.items()))
    return f" (being rebuilt in parts, or interrupted: {shown})"
