"""newborn-ledger: tests integration."""
