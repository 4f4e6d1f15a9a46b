"""Wings written in the test suite by following docs/extending.md, as a new one would be."""
