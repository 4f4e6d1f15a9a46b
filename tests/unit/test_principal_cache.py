"""Recently seen tokens skip the store; a revocation takes effect when the entry expires."""

from __future__ import annotations

from adapters.bootstrap import Container
from api.auth import PrincipalCache


def test_cached_until_expiry_then_revocation_applies(memory_container: Container) -> None:
    actor, token = memory_container.actors.add("monitor", "43")
    cache = PrincipalCache(memory_container.actors, ttl_s=3600)
    assert cache.cached(token) is None
    principal = cache.lookup(token)
    assert principal is not None
    assert cache.cached(token) == principal
    memory_container.actors.revoke(actor.id)
    assert cache.cached(token) == principal  # still within its time to live
    expired = PrincipalCache(memory_container.actors, ttl_s=0)
    assert expired.lookup(token) is None
    assert expired.cached(token) is None


def test_unknown_tokens_are_never_cached(memory_container: Container) -> None:
    cache = PrincipalCache(memory_container.actors)
    assert cache.lookup("nl_nobody") is None
    assert cache.cached("nl_nobody") is None
