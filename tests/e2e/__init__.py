"""newborn-ledger: tests e2e."""
