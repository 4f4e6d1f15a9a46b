"""newborn-ledger: tests unit."""
