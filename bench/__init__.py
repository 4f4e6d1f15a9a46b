"""newborn-ledger: bench."""
