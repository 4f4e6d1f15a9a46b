"""Registry systems: an office's own system (a police hukou system, a medical insurance
system), its endpoint, its signing secrets and its token. Secrets live only in events."""

from __future__ import annotations

import base64
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.domain import Aggregate, event
from eventsourcing.utils import EnvType

from domain.kernel.actors import ActorDirectory, normalise_scope
from domain.kernel.applications import ExplicitEnvMixin
from domain.kernel.errors import DomainError
from domain.kernel.topics import stored_as

SYSTEM_NAMESPACE = uuid5(NAMESPACE_URL, "https://newborn-ledger.org/registry-systems")
SECRET_PREFIX = "whsec_"  # the Standard Webhooks secret format: whsec_ + base64 of the key
SECRET_BYTES = 32
KEEP_OLD_SECRET = timedelta(hours=24)  # a rotated-out secret still signs this long
MAX_URL, MAX_LABEL = 2_000, 200
LIST_PAGE = 1_000


class InvalidSystemError(DomainError):
    code = "invalid-system"


class SystemNotFoundError(DomainError):
    code = "system-not-found"


class SystemDisabledError(DomainError):
    code = "system-disabled"


def new_secret() -> str:
    """A Standard Webhooks signing secret: `whsec_` and the base64 of 32 random bytes."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode("ascii")


def endpoint_url(url: str | None) -> str | None:
    """An http(s) URL with a host and no credentials or fragment (None: feed only)."""
    if url is None:
        return None
    url = url.strip()
    try:
        parts = urlsplit(url)
        _ = parts.port  # a port that is not a number raises ValueError
    except ValueError:
        parts = urlsplit("")
    if len(url) > MAX_URL or parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidSystemError("The URL must be http:// or https:// with a host", field="url")
    if parts.username or parts.password or parts.fragment or any(c.isspace() for c in url):
        raise InvalidSystemError(
            "The URL may not hold credentials, a fragment or spaces", field="url"
        )
    return url


@dataclass(frozen=True)
class SystemInfo:
    """A registry system as the dispatcher and the feed read it."""

    system_id: UUID
    actor_id: UUID  # its Actor (token) in the ActorDirectory
    locality: str
    authority: str
    url: str | None  # None: it reads the feed only
    label: str
    disabled: bool
    secrets: tuple[str, ...] = field(repr=False)  # "whsec_..." valid now, current first
    starts_after: int = 0  # its office's feed is delivered after this sequence


@stored_as("domain.kernel.systems")
class RegistrySystem(Aggregate):
    """An office's own system: deliveries to its URL are signed with its secret; a rotated-out
    secret stays valid for a while, so the system can switch without losing a delivery."""

    class Registered(Aggregate.Created):
        locality: str
        authority: str
        url: str | None
        label: str
        actor_id: UUID
        secret: str
        starts_after: int  # the office feed's sequence it is delivered after (0: from the start)

    class SecretRotated(Aggregate.Event):
        secret: str
        previous_valid_until: str  # ISO time: the old secret signs until then

    class Disabled(Aggregate.Event):
        pass

    @staticmethod
    def create_id(actor_id: UUID) -> UUID:
        return uuid5(SYSTEM_NAMESPACE, str(actor_id))

    @event(Registered)
    def __init__(
        self,
        locality: str,
        authority: str,
        url: str | None,
        label: str,
        actor_id: UUID,
        secret: str,
        starts_after: int = 0,
    ) -> None:
        self.locality, self.authority, self.url, self.label = locality, authority, url, label
        self.actor_id, self.secret = actor_id, secret
        self.starts_after = starts_after
        self.previous_secret: str | None = None
        self.previous_valid_until: str | None = None
        self.disabled = False

    def __repr__(self) -> str:
        """Without its secrets (the library's repr shows every attribute)."""
        shown = ("locality", "authority", "url", "label", "disabled", "starts_after")
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in shown)
        return f"RegistrySystem(id={self.id!r}, version={self.version}, {fields})"

    def rotate_secret(self, secret: str, previous_valid_until: datetime) -> None:
        if self.disabled:
            raise SystemDisabledError("The system is disabled", system_id=str(self.id))
        self._secret_rotated(secret=secret, previous_valid_until=previous_valid_until.isoformat())

    @event(SecretRotated)
    def _secret_rotated(self, secret: str, previous_valid_until: str) -> None:
        self.previous_secret, self.secret = self.secret, secret
        self.previous_valid_until = previous_valid_until

    def disable(self) -> None:
        if not self.disabled:  # disabling twice records nothing new
            self._disabled()

    @event(Disabled)
    def _disabled(self) -> None:
        self.disabled = True

    def secrets_at(self, now: datetime) -> tuple[str, ...]:
        """The current secret, and the previous one while it is still valid."""
        until = self.previous_valid_until
        if self.previous_secret and until and now < datetime.fromisoformat(until):
            return self.secret, self.previous_secret
        return (self.secret,)

    def info(self, now: datetime) -> SystemInfo:
        return SystemInfo(
            self.id,
            self.actor_id,
            self.locality,
            self.authority,
            self.url,
            self.label,
            self.disabled,
            () if self.disabled else self.secrets_at(now),
            self.starts_after,
        )


@dataclass(frozen=True)
class Registration:
    """What `registry add` shows once: the system, its secret and its token."""

    system: SystemInfo
    secret: str = field(repr=False)
    token: str = field(repr=False)


class RegistrySystems(ExplicitEnvMixin, Application[UUID]):
    """The registry systems' own small event store, beside the actor directory: few
    aggregates, read whole (cached until the log moves) by the dispatcher and the feed."""

    name = "RegistrySystems"

    def __init__(self, env: EnvType | None = None) -> None:
        super().__init__(env)
        self.clock: Callable[[], datetime] = lambda: datetime.now(UTC)
        self._cache: tuple[int, tuple[RegistrySystem, ...]] = (-1, ())
        self._lock = threading.Lock()

    def register(
        self,
        actors: ActorDirectory,
        locality: str,
        authority: str,
        url: str | None,
        label: str = "",
        starts_after: int = 0,
    ) -> Registration:
        """A new system of an office: its token (an office actor of kind "system") is added
        first, so a system is never saved without one; its secret is made here."""
        checked = endpoint_url(url)
        if len(label) > MAX_LABEL:
            raise InvalidSystemError(f"The label is at most {MAX_LABEL} characters", field="label")
        scope, office = normalise_scope("office", locality, authority)
        assert office is not None  # an office always has its authority
        actor, token = actors.add(
            "office", scope, office, label or "registry system", None, "system"
        )
        secret = new_secret()
        if starts_after < 0:
            raise InvalidSystemError("A feed position is 0 or more", field="starts_after")
        system = RegistrySystem(scope, office, checked, label, actor.id, secret, starts_after)
        self.save(system)
        return Registration(system.info(self.clock()), secret, token)

    def rotate_secret(self, system_id: UUID, keep_old: timedelta = KEEP_OLD_SECRET) -> str:
        """A new secret; the old one stays valid for `keep_old` (0: not at all)."""
        if keep_old < timedelta(0):
            raise InvalidSystemError("The old secret cannot stay valid a negative time")
        system = self._get(system_id)
        secret = new_secret()
        system.rotate_secret(secret, self.clock() + keep_old)
        self.save(system)
        return secret

    def disable(self, system_id: UUID, actors: ActorDirectory) -> SystemInfo:
        """No more deliveries, and its token is revoked (refused from then on)."""
        system = self._get(system_id)
        system.disable()
        self.save(system)
        actors.revoke(system.actor_id)
        return system.info(self.clock())

    def get_system(self, system_id: UUID) -> SystemInfo:
        return self._get(system_id).info(self.clock())

    def systems(self, now: datetime) -> list[SystemInfo]:
        """Every system, in the order they were registered."""
        return [s.info(now) for s in self._all()]

    def for_office(self, locality: str, authority: str, now: datetime) -> list[SystemInfo]:
        """The enabled systems of one office."""
        return [
            s.info(now)
            for s in self._all()
            if not s.disabled and (s.locality, s.authority) == (locality, authority)
        ]

    def _get(self, system_id: UUID) -> RegistrySystem:
        try:
            system: Aggregate = self.repository.get(system_id)
        except AggregateNotFoundError:
            raise SystemNotFoundError("No such system", system_id=str(system_id)) from None
        if not isinstance(system, RegistrySystem):
            raise SystemNotFoundError("No such system", system_id=str(system_id))
        return system

    def _all(self) -> tuple[RegistrySystem, ...]:
        """The systems as of the log's head, read again only when the log moved."""
        head = self.recorder.max_notification_id() or 0
        cached_head, cached = self._cache
        if head == cached_head:
            return cached
        with self._lock:
            loaded = tuple(self._get(i) for i in self._ids())
            self._cache = (head, loaded)
        return loaded

    def _ids(self) -> list[UUID]:
        ids: list[UUID] = []
        start = 1
        while page := self.recorder.select_notifications(start=start, limit=LIST_PAGE):
            ids += [UUID(str(n.originator_id)) for n in page if n.originator_version == 1]
            start = page[-1].id + 1
        return ids
