"""newborn-ledger: api."""
