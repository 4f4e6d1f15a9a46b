"""The case kernel: what every cross-province \"one thing\" shares (requests, plans,
routing, alliance, calendar, results, disclosure, access), with no wing's vocabulary."""
