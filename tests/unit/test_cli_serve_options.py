"""`newborn-ledger serve` runs uvicorn on uvloop + httptools unless told otherwise."""

from __future__ import annotations

from entry.cli import _parser


def test_serve_defaults_to_uvloop_and_httptools() -> None:
    args = _parser().parse_args(["serve"])
    assert (args.loop, args.http) == ("uvloop", "httptools")


def test_serve_can_go_back_to_asyncio_and_h11() -> None:
    args = _parser().parse_args(["serve", "--loop", "asyncio", "--http", "h11"])
    assert (args.loop, args.http) == ("asyncio", "h11")
