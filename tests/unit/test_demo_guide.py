"""The demo's closing guide: the serve command it prints is one shell command, pasted as is."""

from __future__ import annotations

import shlex
from pathlib import Path

import pyotp

from adapters.settings import Settings
from entry.demo_guide import FamilyLogin, StaffLogin, guide

STORE = Path("/tmp/demo store")  # a space: quoted in the command
STAFF = [StaffLogin("demo.clerk", "office", "420102", "pw", pyotp.random_base32(), ("/office",))]
FAMILY = FamilyLogin("王小明", "C04G88R47M1E", "123456")
OPERATORS = set("();&|<>")


def serve_lines(settings: Settings) -> list[str]:
    """The command line and the lines after it, up to the blank line."""
    lines = guide(settings, STORE, STAFF, FAMILY)
    start = lines.index(
        "Try it in a browser: serve this store (in another terminal, Ctrl+C stops it):"
    )
    block = lines[start + 2 :]
    return block[: block.index("")]


def shell_words(line: str) -> list[str]:
    """The line as a POSIX shell reads it, its operators (`(`, `;`, ...) apart."""
    lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    return list(lexer)


def test_with_a_cipher_key_the_command_is_still_one_command_and_the_key_is_named_apart() -> None:
    settings = Settings(persistence="sqlite", cipher_key="a-key-never-printed")
    command, *after = serve_lines(settings)
    words = shell_words(command)
    assert [word for word in words if set(word) <= OPERATORS] == []  # no `(`, `;`, ...
    assert words[-1] == "serve"
    assert f"NEWBORN_LEDGER_SQLITE_DIR={STORE}" in words
    assert after == [
        "   (with the same NEWBORN_LEDGER_CIPHER_KEY set: the store is encrypted with it)"
    ]
    assert "a-key-never-printed" not in "\n".join(guide(settings, STORE, STAFF, FAMILY))


def test_without_a_cipher_key_only_the_command() -> None:
    command, *after = serve_lines(Settings(persistence="sqlite"))
    assert shell_words(command)[-1] == "serve"
    assert after == []
