"""A wing: one cross-province "one thing" (跨省通办 family) carried by the case kernel.

The kernel (service requests, the saga's plan, routing over places, the alliance, time limits,
disclosure, access) speaks no wing's words. A wing brings them, as one value of this class
(births: domain/births/wing.py), and domain/wings.py names every wing the ledger carries.
docs/extending.md walks through writing one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar, runtime_checkable
from uuid import UUID

from eventsourcing.persistence import Transcoding

from domain.kernel.applicants import Opening
from domain.kernel.catalog import Catalog
from domain.kernel.certificates import CertificateKind
from domain.kernel.disclosure import Discloses
from domain.kernel.materials import MaterialsCatalog
from domain.kernel.saga import Fact, Planning

In = TypeVar("In")
P = TypeVar("P")


class KernelCase(Discloses, Protocol):
    """A wing's case aggregate, as the kernel carries out the saga's decisions on it."""

    @property
    def id(self) -> UUID: ...

    @property
    def version(self) -> int: ...

    @property
    def is_open(self) -> bool: ...

    def plan(self, services: list[str], catalog_version: str, alliance_version: str) -> None:
        """Record the services planned (a plan drawn again with the same services: nothing)."""
        ...

    def complete(self) -> None:
        """Record that every required service is done."""
        ...


@runtime_checkable
class VoidableCase(Protocol):
    """A case a void may leave waiting for offices to revoke their results (births)."""

    def finish_void(self) -> None:
        """Record that every office that issued a result revoked it."""
        ...


@runtime_checkable
class ClosableCase(Protocol):
    """A case that may end short of completion when the rest of it cannot proceed (after a
    rejection): the family closes it, or the deadline job once its windows lapsed. The wing
    maps its closing event to the saga's CaseClosed fact."""

    @property
    def planned_services(self) -> list[str]: ...

    def close(self, by: str, reason: str) -> None:
        """Record that the case ends here, by whom and why."""
        ...


@runtime_checkable
class EvidencedCase(Protocol):
    """A case that tells what a correction rests on (births: the message, or the family's)."""

    def evidence_of(self, correction: str) -> str: ...


@dataclass(frozen=True, eq=False)  # one value per wing: compared and hashed by identity
class Wing(Generic[In, P]):
    """What a wing gives the kernel.

    kind: the case kind views carry ("birth"); catalog: its services (reference data, loaded
    once); planning: its planning rules for the saga's decider; inputs: the type of its
    planning inputs (which wing a case plan belongs to); case: its case aggregate; facts: the
    case events the saga follows, each with how it reads as the saga's fact; transcodings:
    how its values are stored in events; certificates: the services whose results are
    e-certificates, each with its kind (type and subject); opened: the creation events of
    cases an applicant opens (not a hospital), each read as its `Opening` (the tracking code
    the applicant signs in with: domain/kernel/applicants.py); materials: its services'
    required materials (domain/kernel/materials.py), loaded once; name_zh, name_en: the
    matter's display names (the monitor's figures and flows; "" shows the kind code).
    """

    kind: str
    catalog: Callable[[], Catalog]
    planning: Planning[In, P]
    inputs: type[In]
    case: type[KernelCase]
    facts: Mapping[type, Callable[[Any], Fact[P]]]
    transcodings: tuple[Transcoding, ...]
    certificates: Mapping[str, CertificateKind] = field(default_factory=dict)
    opened: Mapping[type, Callable[[Any], Opening]] = field(default_factory=dict)
    materials: Callable[[], MaterialsCatalog] | None = None
    name_zh: str = ""
    name_en: str = ""

    @property
    def followed(self) -> tuple[type, ...]:
        """The case events the saga follows."""
        return tuple(self.facts)

    def fact_of(self, event: object) -> Fact[P] | None:
        """The event as the saga's fact (None: an event the saga does not follow)."""
        read = self.facts.get(type(event))
        return None if read is None else read(event)
