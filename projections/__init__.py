"""newborn-ledger: projections."""
