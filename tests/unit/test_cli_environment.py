"""The command line's help: every option explained, and the Environment section in step with
the NEWBORN_LEDGER_* variables the code reads; a rebuild's message; progress apart from logs."""

from __future__ import annotations

import argparse
import io
import logging
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from adapters.settings import PREFIX, Settings
from entry.cli import _parser
from entry.environment import VARIABLES, command_section, full_section
from entry.progress import LogAboveProgress, Progress
from entry.projections_cli import Rebuilt

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("adapters", "api", "domain", "engine", "entry", "integrations", "projections")
NAME = re.compile(r"NEWBORN_LEDGER_[A-Z0-9_]+")
LISTED = {PREFIX + variable.name for variable in VARIABLES}


class Recording(dict[str, str]):
    """An empty environment that remembers every name asked of it."""

    def __init__(self) -> None:
        super().__init__()
        self.asked: set[str] = set()

    def get(self, key: str, default: str | None = None) -> str | None:  # type: ignore[override]
        self.asked.add(key)
        return super().get(key, default)


def read_by_settings() -> set[str]:
    environ = Recording()
    Settings.from_env(environ)
    return environ.asked


def named_in_code() -> set[str]:
    """Every whole NEWBORN_LEDGER_* name in the application's code (not a prefix such as
    NEWBORN_LEDGER_OIDC_, not the tests' own variables)."""
    found = set()
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            found |= {n for n in NAME.findall(path.read_text("utf-8")) if not n.endswith("_")}
    return found


def test_every_variable_the_settings_read_is_in_the_help() -> None:
    read = read_by_settings()
    assert len(read) > 40
    assert read - LISTED == set()


def test_every_variable_the_code_names_is_in_the_help_and_every_listed_one_is_read() -> None:
    named = named_in_code()
    assert {"NEWBORN_LEDGER_LOG_LEVEL", "NEWBORN_LEDGER_USER_PASSWORD"} <= named
    assert named - LISTED == set()
    assert LISTED - (named | read_by_settings()) == set()  # no variable the code ignores


def test_the_top_level_help_lists_every_variable_on_a_line_of_its_own() -> None:
    lines = full_section().splitlines()
    assert lines[0].startswith("Environment")
    assert [line.split()[0] for line in lines[1:]] == [PREFIX + v.name for v in VARIABLES]
    assert len(LISTED) == len(VARIABLES)


def test_a_subcommand_lists_its_own_variables_and_names_the_store_s() -> None:
    section = command_section("registry-simulator")
    assert "  NEWBORN_LEDGER_SIMULATOR_TOKEN (unset): " in section
    assert "NEWBORN_LEDGER_PERSISTENCE, _SQLITE_DIR" in section
    assert "NEWBORN_LEDGER_DELIVERY_LEASE" not in section
    assert "newborn-ledger --help" in section


def parsers(
    parser: argparse.ArgumentParser, path: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], argparse.ArgumentParser]]:
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                yield from parsers(child, (*path, name))


def test_every_command_and_option_is_explained_and_ends_with_the_environment() -> None:
    found = list(parsers(_parser()))
    assert len(found) > 30
    for path, parser in found:
        assert parser.description, path
        assert parser.epilog is not None
        assert parser.epilog.startswith("Environment"), path
        unexplained = [
            a.dest
            for a in parser._actions
            if not a.help and not isinstance(a, argparse._SubParsersAction)
        ]
        assert unexplained == [], path


@pytest.mark.parametrize(
    ("applied", "wrote", "position", "head", "parked", "said"),
    [
        (120, 120, 120, 120, 0, "case_status: rebuilt: 120 events applied, up to position 120"),
        (0, 0, 120, 120, 0, "already up to date again: another process (a running worker) "
         "applied the events up to position 120 meanwhile"),
        (0, 120, 120, 120, 0, "emptied and replayed: the log has no events of its kinds, so "
         "there was nothing to apply; its position is the log's head (120)"),
        (50, 60, 120, 120, 0, "rebuilt: 50 events applied, up to position 60; another process "
         "(a running worker) applied the events after it up to position 120 meanwhile"),
        (0, 0, 0, 0, 0, "the log has no events yet, so there was nothing to apply"),
        (0, 40, 40, 120, 0, "not finished: 0 events applied, 80 behind the head (120)"),
        (1, 9, 9, 9, 2, "rebuilt: 1 event applied, up to position 9 (the log's head); 2 parked"),
        (0, 9, 9, 9, 2, "rebuilt: 0 events applied, up to position 9 (the log's head); 2 parked"),
    ],
)  # fmt: skip
def test_a_rebuild_says_what_happened(
    applied: int, wrote: int, position: int, head: int, parked: int, said: str
) -> None:
    message = Rebuilt("case_status", applied, wrote, position, head, parked).message()
    assert message.startswith("case_status: ")
    assert said in message


def test_off_a_terminal_a_bar_is_a_plain_line_at_each_quarter() -> None:
    stream = io.StringIO()
    progress = Progress(stream)
    for position in range(101):
        progress.bar("case_status", position, 100)
    progress.done()
    lines = stream.getvalue().splitlines()
    assert [line.split()[-1] for line in lines] == [
        "0/100",
        "25/100",
        "50/100",
        "75/100",
        "100/100",
    ]
    assert "\r" not in stream.getvalue()


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_on_a_terminal_a_log_line_never_shares_a_line_with_the_bar() -> None:
    terminal = Terminal()
    handler = LogAboveProgress(terminal)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    logger = logging.getLogger("tests.progress")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        progress = Progress(terminal)
        progress.bar("case_status", 5, 10)
        logger.warning("a warning")
        progress.bar("case_status", 10, 10)
        progress.done()
    finally:
        logger.removeHandler(handler)
        logger.propagate = True
    screen = terminal.getvalue().replace("\x1b[K", "")
    # each \r starts the line again: split on it to see what the terminal shows line by line
    shown = [part for part in screen.split("\r") if part]
    assert "WARNING a warning\n" in shown
    assert shown[shown.index("WARNING a warning\n") + 1].startswith("case_status: [")
    assert screen.endswith("\r")  # done: the bar's line is erased
