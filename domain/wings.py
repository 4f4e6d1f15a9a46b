"""The wings this ledger carries, and the reference data they share.

Each "one thing" (出生一件事 first) is a package of its own under domain/ that speaks the case
kernel's language and gives it one `Wing` value (domain/kernel/wing.py). WINGS names them:
adding a wing to the ledger is one line here. `registered` adds one for a while (a test's,
or a deployment trying one out) without editing this file: applications built inside it
follow, plan, route and decode its cases, but only the wings of WINGS are snapshotted and
checked against the alliance file.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from functools import cache
from itertools import chain
from typing import Any

from eventsourcing.persistence import JSONTranscoder, Transcoding

from domain.births.wing import BIRTHS
from domain.idcards.wing import ID_CARDS
from domain.kernel.alliance import Alliance
from domain.kernel.applicants import Opening
from domain.kernel.catalog import Catalog, ServiceDefinition, read_reference
from domain.kernel.certificates import CertificateKind
from domain.kernel.materials import MaterialsCatalog
from domain.kernel.national_list import NationalList
from domain.kernel.transcodings import KERNEL_TRANSCODINGS
from domain.kernel.wing import KernelCase, Wing
from domain.marriage.wing import MARRIAGE

AnyWing = Wing[Any, Any]

WINGS: tuple[AnyWing, ...] = (BIRTHS, MARRIAGE, ID_CARDS)

_extra: list[AnyWing] = []
_case_types: list[tuple[type[KernelCase], ...]] = []
_by_event: dict[type, AnyWing] = {}
_by_inputs: dict[type, AnyWing] = {}
_by_service: dict[str, tuple[AnyWing, ServiceDefinition]] = {}
_certificates: dict[str, CertificateKind] = {}
_openings: dict[type, tuple[AnyWing, Callable[[Any], Opening]]] = {}


def wings() -> tuple[AnyWing, ...]:
    return (*WINGS, *_extra)


@contextmanager
def registered(wing: AnyWing) -> Iterator[AnyWing]:
    """The ledger carries `wing` too while the block runs (applications built inside it)."""
    if any(w.kind == wing.kind for w in wings()):
        raise ValueError(f"a wing of kind {wing.kind!r} is already carried")
    _extra.append(wing)
    _forget()
    try:
        yield wing
    finally:
        _extra.remove(wing)
        _forget()


def _forget() -> None:
    _case_types.clear()
    _by_event.clear()
    _by_inputs.clear()
    _by_service.clear()
    _certificates.clear()
    _openings.clear()


def case_types() -> tuple[type[KernelCase], ...]:
    """Every wing's case aggregate class."""
    if not _case_types:
        _case_types.append(tuple(w.case for w in wings()))
    return _case_types[0]


def wing_of_event(event: object) -> AnyWing | None:
    """The wing whose saga follows this case event (None: no wing's)."""
    if not _by_event:
        _by_event.update({cls: w for w in wings() for cls in w.followed})
    return _by_event.get(type(event))


def wing_of_inputs(inputs: object) -> AnyWing:
    """The wing a case plan belongs to, by the type of its planning inputs."""
    if not _by_inputs:
        _by_inputs.update({w.inputs: w for w in wings()})
    return _by_inputs[type(inputs)]


def service(code: str) -> ServiceDefinition:
    """A service of any wing, by its code (codes are unique across wings)."""
    return _service(code)[1]


def kind_of_service(code: str) -> str:
    """The case kind a service belongs to ("birth", …)."""
    return _service(code)[0].kind


def matter_names(kind: str) -> tuple[str, str]:
    """A matter's (a wing kind's) display names in Chinese and English; the kind code for a
    wing that gives none, or a kind no carried wing has."""
    found = next((w for w in wings() if w.kind == kind), None)
    if found is None:
        return kind, kind
    return found.name_zh or kind, found.name_en or kind


def service_names(code: str) -> tuple[str, str]:
    """A service's display names in Chinese and English (the code when no wing has it)."""
    try:
        definition = service(code)
    except KeyError:
        return code, code
    return definition.name_zh, definition.name_en


def _service(code: str) -> tuple[AnyWing, ServiceDefinition]:
    if not _by_service:
        _by_service.update({s.code: (w, s) for w in wings() for s in w.catalog()})
    return _by_service[code]


def catalog_of(code: str) -> Catalog:
    """The catalog of the wing a service belongs to."""
    return _service(code)[0].catalog()


def materials_of(code: str) -> MaterialsCatalog | None:
    """The materials lists of the wing a service belongs to (None: the wing has none, or no
    wing has the service)."""
    try:
        wing = _service(code)[0]
    except KeyError:
        return None
    return None if wing.materials is None else wing.materials()


def certificate_kinds() -> Mapping[str, CertificateKind]:
    """Every wing's certificate-issuing services, each with its certificate's kind."""
    if not _certificates:
        _certificates.update({k: v for w in wings() for k, v in w.certificates.items()})
    return _certificates


def opening_events() -> tuple[type, ...]:
    """The creation events of every wing's applicant-opened cases."""
    return tuple(_opening_readers())


def opening_of(event: object) -> Opening | None:
    """An applicant-opened case's creation event as its `Opening` (None: not one)."""
    found = _opening_readers().get(type(event))
    return None if found is None else found[1](event)


def _opening_readers() -> dict[type, tuple[AnyWing, Callable[[Any], Opening]]]:
    if not _openings:
        _openings.update({cls: (w, read) for w in wings() for cls, read in w.opened.items()})
    return _openings


def followed() -> tuple[type, ...]:
    """Every case event a wing's saga follows."""
    return tuple(chain.from_iterable(w.followed for w in wings()))


def transcodings() -> tuple[Transcoding, ...]:
    """How the kernel's and every wing's values are stored."""
    return (*KERNEL_TRANSCODINGS, *chain.from_iterable(w.transcodings for w in wings()))


class RegistersWingValues:
    """An application mixin: its transcoder knows the kernel's and every wing's values (the
    CaseLedger and the Orchestrator each read the other's events with their own mapper)."""

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)  # type: ignore[misc]
        for transcoding in transcodings():
            transcoder.register(transcoding)


def _shipped_services() -> Catalog:
    services = tuple(chain.from_iterable(w.catalog().services for w in WINGS))
    return Catalog("+".join(w.catalog().version for w in WINGS), services)


@cache
def load_alliance() -> Alliance:
    """The shipped alliance (`domain/kernel/reference/alliance.json`), validated against the
    services of the shipped wings once and cached."""
    return Alliance.from_dict(read_reference("domain.kernel", "alliance.json"), _shipped_services())


@cache
def load_national_list() -> NationalList:
    """The shipped national 跨省通办 list (`domain/kernel/reference/national_list.json`),
    validated against the services of the shipped wings once and cached."""
    data = read_reference("domain.kernel", "national_list.json")
    return NationalList.from_dict(data, _shipped_services())


_list_in_force: list[NationalList] = []


def national_list() -> NationalList:
    """The national list routing uses: the shipped one, or the one `list_in_force` sets."""
    return _list_in_force[-1] if _list_in_force else load_national_list()


@contextmanager
def list_in_force(national: NationalList) -> Iterator[NationalList]:
    """Plan with `national` while the block runs (a test's, or an older version's)."""
    _list_in_force.append(national)
    try:
        yield national
    finally:
        _list_in_force.remove(national)
