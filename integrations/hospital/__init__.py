"""newborn-ledger: integrations hospital."""
