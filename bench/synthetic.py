"""A large, realistic CaseLedger event stream, written fast through the library's recorder.

Driving ~42k cases through the applications would take longer than the whole benchmark may, so
a few template cases are driven for real (in memory: notify, plan, offices receive and approve,
complete), and their stored events are cloned: same topics, versions and shapes, with each
case's identifiers (case, request and message ids, record key, message id, delivery key,
tracking code) replaced, then compressed by the application's own mapper settings and inserted
with `recorder.insert_events`. Personal details repeat every `TEMPLATES` cases.
"""

from __future__ import annotations

import multiprocessing
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.domain import CanMutateAggregate
from eventsourcing.persistence import StoredEvent

from adapters.bootstrap import build
from adapters.settings import Settings
from bench import pgdb
from bench.messages import HOSPITAL, birth_facts
from bench.offices import Driver
from domain.births.birth_case import BirthCase
from domain.births.hospital_message import HospitalMessage
from domain.kernel.service_request import ServiceRequest
from domain.ledger import CaseLedger

TEMPLATES = 10  # one block: the template cases, interleaved as the driver produced them
TRACKING_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
SERVICES = (
    "birth-certificate",
    "vaccination",
    "household-registration",
    "medical-insurance",
    "social-security-card",
    "maternity-benefits",
)


def tracking_code(run: str, i: int) -> str:
    """A unique 12-character code per (run, case) in the tracking alphabet."""
    value = zlib.crc32(run.encode()) * 10**9 + i
    letters = []
    for _ in range(12):
        value, digit = divmod(value, 32)
        letters.append(TRACKING_ALPHABET[digit])
    return "".join(reversed(letters))


def case_keys(run: str, i: int, code: str) -> list[bytes]:
    """The identifiers of case `i` of `run`, in the order `Template` replaces them."""
    facts = birth_facts(run, i)
    case_id = BirthCase.create_id(HOSPITAL, facts.record_ref)
    ids = [case_id, HospitalMessage.create_id(HOSPITAL, f"bench-{run}-{i:08d}")]
    ids += [ServiceRequest.create_id(case_id, s) for s in SERVICES]
    keys = [form for u in ids for form in (u.hex, str(u))]
    keys += [facts.record_ref, f"bench-{run}-{i:08d}", facts.delivery_ref or "", code]
    return [k.encode() for k in keys]


def ids_of(keys: list[bytes]) -> list[UUID]:
    return [UUID(keys[n].decode()) for n in range(0, 2 * (2 + len(SERVICES)), 2)]


@dataclass(frozen=True)
class TemplateEvent:
    case: int  # which template case
    originator: int  # index into that case's ids
    version: int
    topic: str
    plain: bytes  # uncompressed state
    packed: bytes  # stored state, reused when no identifier occurs in it
    present: tuple[int, ...]  # indexes of the case keys found in `plain`


class Template:
    """The template block and how to clone it for any range of case numbers."""

    def __init__(self, ledger: CaseLedger, keys: list[list[bytes]]) -> None:
        self.keys = keys
        owners = {u: (k, n) for k, ks in enumerate(keys) for n, u in enumerate(ids_of(ks))}
        compressor = ledger.mapper.compressor
        self.events: list[TemplateEvent] = []
        self.moments: list[datetime] = []  # when each template event happened
        for note in ledger.recorder.select_notifications(start=1, limit=10**6):
            event = ledger.mapper.to_domain_event(note)
            assert isinstance(event, CanMutateAggregate)
            self.moments.append(event.timestamp)
            k, n = owners[UUID(str(note.originator_id))]
            plain = compressor.decompress(note.state) if compressor else note.state
            present = tuple(j for j, key in enumerate(keys[k]) if key and key in plain)
            self.events.append(
                TemplateEvent(k, n, note.originator_version, note.topic, plain, note.state, present)
            )
        self.compress = compressor.compress if compressor else (lambda b: b)

    def window(self, run: str, first: int, blocks: int) -> Iterator[StoredEvent]:
        """The events of cases first .. first + blocks * TEMPLATES - 1, interleaved as a busy
        ledger interleaves them: each template event for every block, then the next one, so
        one case's events lie hundreds of notifications apart (pages miss, as in reality)."""
        new = [
            [case_keys(run, n, tracking_code(run, n)) for n in range(b, b + TEMPLATES)]
            for b in range(first, first + blocks * TEMPLATES, TEMPLATES)
        ]
        new_ids = [[ids_of(keys) for keys in block] for block in new]
        for e in self.events:
            for block, ids in zip(new, new_ids, strict=True):
                state = e.packed
                if e.present:
                    plain = e.plain
                    for j in e.present:
                        plain = plain.replace(self.keys[e.case][j], block[e.case][j])
                    state = self.compress(plain)
                yield StoredEvent(ids[e.case][e.originator], e.version, e.topic, state)


def make_template(settings: Settings) -> Template:
    """Drive TEMPLATES cases for real in memory, with the mapper settings of `settings`."""
    memory = build(settings.with_changes(persistence="memory"))
    try:
        driver = Driver(memory, memory.tick, offices=1)  # one order, reproducible
        driver.run("tpl", range(TEMPLATES))
        driver.close()
        keys = [
            case_keys("tpl", k, memory.ledger.get_case(_case_id("tpl", k)).tracking_code)
            for k in range(TEMPLATES)
        ]
        return Template(memory.ledger, keys)
    finally:
        memory.close()


def _case_id(run: str, i: int) -> UUID:
    return BirthCase.create_id(HOSPITAL, birth_facts(run, i).record_ref)


WINDOW_BLOCKS = 100  # 1,000 cases in flight together
_template: Template | None = None  # inherited by the forked writers


def _write_window(job: tuple[str, str, int, int]) -> int:
    """COPY one window into the recorder's table; the table's sequence numbers the rows in
    insertion order, as the recorder's own INSERT would."""
    schema, run, first, blocks = job
    assert _template is not None
    columns = "originator_id, originator_version, topic, state"
    written = 0
    with pgdb.connect(autocommit=False) as conn, conn.cursor() as cursor:
        with cursor.copy(f"COPY {schema}.caseledger_events ({columns}) FROM STDIN") as copy:
            for stored in _template.window(run, first, blocks):
                copy.write_row(
                    (stored.originator_id, stored.originator_version, stored.topic, stored.state)
                )
                written += 1
        conn.commit()
    return written


def write_cases(
    settings: Settings, template: Template, run: str, first: int, count: int, processes: int = 2
) -> int:
    """Insert cases first .. first + count - 1 (rounded up to whole blocks) with `processes`
    forked writers; returns the events written. The tables are the library's (build them
    first), the states its mapper's; only the INSERT is replaced by COPY, which is ~4x faster
    than the recorder's array insert under its table lock and keeps the run within budget."""
    global _template
    _template = template
    schema, step = settings.postgres.schema, WINDOW_BLOCKS * TEMPLATES
    jobs = [
        (schema, run, start, min(WINDOW_BLOCKS, -(-(first + count - start) // TEMPLATES)))
        for start in range(first, first + count, step)
    ]
    context = multiprocessing.get_context("fork")
    with context.Pool(processes) as pool:
        written = sum(pool.imap(_write_window, jobs))
        pool.close()
        pool.join()
    return written


def midway(template: Template) -> datetime:
    """A moment in the middle of every cloned case's life (clones share the template's times):
    an as_of read there finds some services approved and others not yet."""
    moments = sorted(template.moments)
    return moments[len(moments) // 2]


def events_per_case(template: Template) -> float:
    return len(template.events) / TEMPLATES


def describe(template: Template) -> dict[str, Any]:
    topics: dict[str, int] = {}
    for e in template.events:
        topics[e.topic] = topics.get(e.topic, 0) + 1
    return {"events_per_case": events_per_case(template), "topics": topics}
