"""Runs the Orchestrator ⇄ CaseLedger loop: pull, decide, carry out, until nothing is left."""

from __future__ import annotations

import logging
import threading

from eventsourcing.persistence import RecordConflictError

from domain.ledger import CaseLedger
from domain.orchestrator import Orchestrator

log = logging.getLogger(__name__)


class Processing:
    """Drives both process applications by pulling from each other's notification logs.

    Pull-based, so it works the same on POPO, SQLite and PostgreSQL, in the API process
    (embedded: settle after each command) or in a separate worker. Tracking rows make every
    step exactly-once: a step another process already took fails its insert and is skipped.
    """

    def __init__(self, ledger: CaseLedger, orchestrator: Orchestrator) -> None:
        self.ledger, self.orchestrator = ledger, orchestrator
        orchestrator.follow(ledger.name, ledger.notification_log)
        ledger.follow(orchestrator.name, orchestrator.notification_log)
        self._lock = threading.Lock()

    def positions(self) -> tuple[int, int]:
        return (
            self.orchestrator.recorder.max_tracking_id(self.ledger.name) or 0,
            self.ledger.recorder.max_tracking_id(self.orchestrator.name) or 0,
        )

    def settle(self, max_rounds: int = 1000) -> int:
        """Process until both sides are caught up; returns the number of rounds that moved."""
        moved = 0
        with self._lock:
            for _ in range(max_rounds):
                before = self.positions()
                self._step()
                if self.positions() == before:
                    return moved
                moved += 1
        log.warning("processing did not settle within %d rounds", max_rounds)
        return moved

    def _step(self) -> None:
        try:
            self.orchestrator.pull_and_process(self.ledger.name)
            self.ledger.pull_and_process(self.orchestrator.name)
        except RecordConflictError:
            # Another process took the same step, or an office wrote the same aggregate at
            # the same moment: nothing was committed, so the next round simply tries again.
            log.info("processing conflict; retrying")
