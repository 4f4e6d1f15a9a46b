"""newborn-ledger: domain."""
