"""newborn-ledger: adapters."""
