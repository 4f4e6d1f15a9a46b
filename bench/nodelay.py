"""Serve the bench app as `newborn-ledger serve` serves: uvloop + httptools, and with N workers
the shared socket re-wrapped as TCP so that TCP_NODELAY is set (uvicorn issue #3149; see
`entry.cli.serve_workers`). Usage: python -m bench.nodelay APP PORT WORKERS
"""

from __future__ import annotations

import sys

import uvicorn

from entry.cli import serve_workers

SERVER = {"loop": "uvloop", "http": "httptools"}


def main(argv: list[str]) -> None:
    app, port, workers = argv[0], int(argv[1]), int(argv[2])
    if workers > 1:
        serve_workers(app, "127.0.0.1", port, workers, SERVER)
    else:
        uvicorn.run(app, factory=True, host="127.0.0.1", port=port, log_level="warning",
                    access_log=False, **SERVER)  # type: ignore[arg-type]  # fmt: skip


if __name__ == "__main__":
    main(sys.argv[1:])
