"""Actors: who may call the ledger, in which role and scope. Tokens are kept only as hashes."""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.domain import Aggregate, event
from eventsourcing.utils import EnvType

from domain.kernel.applications import ExplicitEnvMixin
from domain.kernel.catalog import AUTHORITIES as AUTHORITIES  # the offices named here too
from domain.kernel.errors import DomainError
from domain.kernel.identifiers import division_code, uscc_code
from domain.kernel.topics import stored_as

ROLES = ("hospital", "office", "family", "monitor", "admin", "coordinator")
KINDS = ("person", "system")  # a person's token, or a registry system's (domain/kernel/systems.py)
ACTOR_NAMESPACE = uuid5(NAMESPACE_URL, "https://newborn-ledger.org/actors")
LIST_PAGE = 1_000  # notifications read at a time by `all_actors`
LEGACY_FAMILY_HOURS = 8  # family sign-ins made before tokens expired end this long after
_PROVINCE = re.compile(r"^[1-8]\d$", re.ASCII)


class InvalidActorError(DomainError):
    code = "invalid-actor"


class ActorNotFoundError(DomainError):
    code = "actor-not-found"


def token_hash(token: str) -> str:
    """Tokens carry 256 random bits, so a plain SHA-256 is a safe, fast lookup key."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_token(role: str) -> str:
    return f"nl_{role[:3]}_{secrets.token_urlsafe(32)}"


@dataclass(frozen=True)
class Principal:
    """The authenticated caller as the API sees it."""

    actor_id: UUID
    role: str
    scope: str
    authority: str | None = None
    expires_at: datetime | None = None  # a family's sign-in ends then
    kind: str = "person"  # "system": a registry system acting for its office
    user: str = ""  # a staff user's username when the caller signed in with an account

    @property
    def officer(self) -> str:
        """Who an action is recorded as: `office:<actor>` for a clerk, `system:<actor>` for
        a registry system acting for its office (the history names it as the actor)."""
        return f"{'system' if self.kind == 'system' else self.role}:{self.actor_id}"


@stored_as("domain.actors")
class Actor(Aggregate):
    """A caller: a hospital (USCC), an office (locality + authority), a monitor, a family, a
    coordinator of the routing desk (a province, or national)."""

    class Revoked(Aggregate.Event):
        pass

    class Added(Aggregate.Created):
        hashed_token: str
        role: str
        scope: str
        authority: str | None
        label: str
        expires_at: str | None  # ISO time in UTC after which the token is refused (families)
        kind: str  # "person", or "system" (a registry system's token)

        class_version = 3

        @staticmethod
        def upcast_v1_v2(state: dict[str, object]) -> None:
            """Actors added before tokens could expire: an operator's never does; a family's
            sign-in ends `LEGACY_FAMILY_HOURS` after it was made (the default of today's)."""
            added = cast(datetime, state["timestamp"])
            state["expires_at"] = (
                (added + timedelta(hours=LEGACY_FAMILY_HOURS)).isoformat()
                if state["role"] == "family"
                else None
            )

        @staticmethod
        def upcast_v2_v3(state: dict[str, object]) -> None:
            """Actors added before registry systems had tokens were people's."""
            state["kind"] = "person"

    @staticmethod
    def create_id(hashed_token: str) -> UUID:
        return uuid5(ACTOR_NAMESPACE, hashed_token)

    @event(Added)
    def __init__(
        self,
        hashed_token: str,
        role: str,
        scope: str,
        authority: str | None,
        label: str,
        expires_at: str | None = None,
        kind: str = "person",
    ) -> None:
        self.hashed_token = hashed_token
        self.role, self.scope, self.authority, self.label = role, scope, authority, label
        self.expires_at, self.kind = expires_at, kind
        self.revoked = False

    def valid_at(self, now: datetime) -> bool:
        """Not revoked, and not past its expiry if it has one."""
        if self.revoked:
            return False
        return self.expires_at is None or now < datetime.fromisoformat(self.expires_at)

    def revoke(self) -> None:
        if not self.revoked:
            self._revoked()

    @event(Revoked)
    def _revoked(self) -> None:
        self.revoked = True

    def principal(self) -> Principal:
        expires = None if self.expires_at is None else datetime.fromisoformat(self.expires_at)
        return Principal(self.id, self.role, self.scope, self.authority, expires, self.kind)


def normalise_scope(role: str, scope: str | None, authority: str | None) -> tuple[str, str | None]:
    """Check a role's scope (and authority for offices); return the normalised pair."""
    if role not in ROLES:
        raise InvalidActorError(f"Role must be one of {', '.join(ROLES)}", field="role")
    if role == "admin":
        return "all", None
    if not scope:
        raise InvalidActorError(f"A {role} needs a scope", field="scope")
    if role == "hospital":
        return uscc_code(scope, field="scope"), None
    if role == "office":
        if authority not in AUTHORITIES:
            raise InvalidActorError(
                f"An office needs --authority, one of {', '.join(AUTHORITIES)}", field="authority"
            )
        return division_code(scope, field="scope"), authority
    if role in ("monitor", "coordinator") and scope != "national" and not _PROVINCE.match(scope):
        raise InvalidActorError(
            f"A {role}'s scope is a 2-digit province code or 'national'", field="scope"
        )
    return scope, None


class ActorDirectory(ExplicitEnvMixin, Application[UUID]):
    """The actors' own small event store, separate from the case ledger."""

    name = "ActorDirectory"

    def __init__(self, env: EnvType | None = None) -> None:
        super().__init__(env)
        self.clock: Callable[[], datetime] = lambda: datetime.now(UTC)

    def add(
        self,
        role: str,
        scope: str | None,
        authority: str | None = None,
        label: str = "",
        valid_for: timedelta | None = None,
        kind: str = "person",
    ) -> tuple[Actor, str]:
        """Create an actor; returns it with its token, which is never stored or shown again.
        With `valid_for`, the token is refused once that time has passed (family sign-ins).
        A `kind="system"` actor is a registry system's token (RegistrySystems.register)."""
        norm_scope, norm_authority = normalise_scope(role, scope, authority)
        if kind not in KINDS:
            raise InvalidActorError(f"Kind must be one of {', '.join(KINDS)}", field="kind")
        token = new_token(role)
        expires_at = None if valid_for is None else (self.clock() + valid_for).isoformat()
        actor = Actor(token_hash(token), role, norm_scope, norm_authority, label, expires_at, kind)
        self.save(actor)
        return actor, token

    def authenticate(self, token: str) -> Principal | None:
        try:
            actor: Aggregate = self.repository.get(Actor.create_id(token_hash(token)))
        except AggregateNotFoundError:
            return None
        if not isinstance(actor, Actor) or not actor.valid_at(self.clock()):
            return None
        return actor.principal()

    def revoke(self, actor_id: UUID) -> None:
        try:
            actor: Aggregate = self.repository.get(actor_id)
        except AggregateNotFoundError:
            raise ActorNotFoundError("No such actor", actor_id=str(actor_id)) from None
        if not isinstance(actor, Actor):
            raise ActorNotFoundError("No such actor", actor_id=str(actor_id))
        actor.revoke()
        self.save(actor)

    def all_actors(self, role: str | None = None) -> Iterator[Actor]:
        """Every actor (of `role`), in the order they were added: the log is read a page at a
        time, and an actor is loaded at the event that added it, so neither the ids nor the
        actors of the whole log are held at once (a family token is an actor: millions)."""
        start = 1
        while page := self.recorder.select_notifications(start=start, limit=LIST_PAGE):
            for notification in page:
                if notification.originator_version != 1:
                    continue  # a later event of an actor already listed
                added = self.mapper.to_domain_event(notification)
                if not isinstance(added, Actor.Added) or role not in (None, added.role):
                    continue
                actor: Aggregate = self.repository.get(added.originator_id)
                if isinstance(actor, Actor):
                    yield actor
            start = page[-1].id + 1

    def summary(self, role: str | None = None) -> Iterator[dict[str, Any]]:
        return (
            {
                "actor_id": str(a.id),
                "role": a.role,
                "scope": a.scope,
                "authority": a.authority,
                "label": a.label,
                "revoked": a.revoked,
                "expires_at": a.expires_at,
                "kind": a.kind,
            }
            for a in self.all_actors(role)
        )
