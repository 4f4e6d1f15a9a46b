"""newborn-ledger: integrations."""
