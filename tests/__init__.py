"""newborn-ledger: tests."""
