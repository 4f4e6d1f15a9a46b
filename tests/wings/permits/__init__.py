"""居住证一件事, a tiny "one thing" for the tests: register a residence, then get the permit.

Written by following docs/extending.md's recipe "Add a new one thing", touching only the
files it lists (this package); tests/integration/test_extending_recipe.py carries it through
the same ledger, routing, queues, time limits and views as births.
"""
