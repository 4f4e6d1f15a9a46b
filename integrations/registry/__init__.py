"""newborn-ledger: integrations registry."""
