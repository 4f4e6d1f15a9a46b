"""Runs a saga's loop between two process applications: pull, decide, carry out, until done.

The deciding application (a process manager: the Orchestrator) follows the carrying-out one
(the CaseLedger), which follows it back; the composition root gives the two.
"""

from __future__ import annotations

import logging
import threading
from uuid import UUID

from eventsourcing.system import ProcessApplication

from engine.parked import ParkedRow
from engine.sections import SECTION_SIZE, SectionProcessor

log = logging.getLogger(__name__)


class Processing:
    """Drives both process applications by pulling from each other's notification logs.

    Pull-based, so it works the same on POPO, SQLite and PostgreSQL, in the API process
    (embedded: settle after each command) or in a separate worker. Each pulled section is
    processed in one transaction whose tracking compare-and-set makes it exactly-once: a
    section another process already took fails and is retried from the new position.
    """

    def __init__(
        self,
        ledger: ProcessApplication[UUID],
        orchestrator: ProcessApplication[UUID],
        section_size: int = SECTION_SIZE,
    ) -> None:
        """`orchestrator` decides from `ledger`'s events; `ledger` carries the decisions out."""
        self.ledger, self.orchestrator = ledger, orchestrator
        orchestrator.follow(ledger.name, ledger.notification_log)
        ledger.follow(orchestrator.name, orchestrator.notification_log)
        self.planning = SectionProcessor(orchestrator, ledger, section_size)
        self.carrying_out = SectionProcessor(ledger, orchestrator, section_size)
        self._lock = threading.Lock()

    def processors(self) -> dict[str, SectionProcessor]:
        """Each processor by the name of its follower (the application that parks)."""
        return {self.orchestrator.name: self.planning, self.ledger.name: self.carrying_out}

    def parked(self, state: str | None = None) -> dict[str, list[ParkedRow]]:
        """The notifications each follower parked (`state`: only those), by position."""
        return {
            name: [p for p in processor.parked() if state is None or p.state == state]
            for name, processor in self.processors().items()
        }

    def retry(self, name: str, position: int) -> ParkedRow | None:
        """`name`'s parked notification at `position`, processed again (see SectionProcessor)."""
        with self._lock:
            return self.processors()[name].retry(position)

    def skip(self, name: str, position: int, by: str) -> ParkedRow:
        with self._lock:
            return self.processors()[name].skip(position, by)

    def positions(self) -> tuple[int, int]:
        return (self.planning.position() or 0, self.carrying_out.position() or 0)

    def settle(self, max_rounds: int = 1000) -> int:
        """Process until both sides are caught up; returns the number of rounds that moved.

        A round drains the orchestrator's input, then the ledger's; when the ledger found
        nothing to carry out, the orchestrator has decided nothing new since, so it is settled.
        """
        moved = 0
        with self._lock:
            for _ in range(max_rounds):
                decided = self.planning.drain()
                carried_out = self.carrying_out.drain()
                if not carried_out:
                    return moved + bool(decided)
                moved += 1
        log.warning("processing did not settle within %d rounds", max_rounds)
        return moved
