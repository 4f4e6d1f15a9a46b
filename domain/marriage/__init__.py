"""婚姻登记“跨省通办”: cross-province marriage registration, opened by the two applicants.

The registration office of the place the couple chose (either party's hukou place, or the
place where one party's residence permit was issued: the 2023 pilot) asks the civil-affairs
office of each party's hukou place for a marital status check, then registers the marriage
on the spot and issues the certificate. A wing of the case kernel (docs/extending.md,
recipe 2): it imports the kernel and itself only.
"""
