"""Entry points: the `newborn-ledger` command, the demo and the ASGI factory for uvicorn."""
