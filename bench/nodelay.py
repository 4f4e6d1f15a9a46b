"""uvicorn with N workers and TCP_NODELAY: the fix proposed for `newborn-ledger serve`.

`uvicorn --workers N` binds the listening socket with proto 0; accepted sockets inherit it and
asyncio only sets TCP_NODELAY when proto is IPPROTO_TCP (uvicorn issue #3149). Nagle's
algorithm then holds each response body until the client's delayed ACK: ~40 ms per keep-alive
request. Re-wrapping the bound socket with proto IPPROTO_TCP before the supervisor hands it to
the workers restores TCP_NODELAY. Usage: python -m bench.nodelay APP PORT WORKERS
"""

from __future__ import annotations

import socket
import sys

import uvicorn
from uvicorn.supervisors import Multiprocess


def tcp_socket(sock: socket.socket) -> socket.socket:
    return socket.socket(sock.family, sock.type, socket.IPPROTO_TCP, fileno=sock.detach())


def main(argv: list[str]) -> None:
    app, port, workers = argv[0], int(argv[1]), int(argv[2])
    config = uvicorn.Config(
        app,
        factory=True,
        host="127.0.0.1",
        port=port,
        workers=workers,
        log_level="warning",
        access_log=False,
    )
    if workers > 1:
        Multiprocess(config, sockets=[tcp_socket(config.bind_socket())]).run()
    else:
        uvicorn.Server(config).run()


if __name__ == "__main__":
    main(sys.argv[1:])
