"""A simulated registry system: a test double of an office's own system (a police hukou
system, a CDC immunisation system ...) for the demo and the tests, run as its own process
(`newborn-ledger registry-simulator`, entry/simulator_cli.py serves it over HTTP).

It takes the ledger's Standard Webhooks deliveries: it verifies the signature with its
secrets (a wrong or rotated-out one: 401, nothing done), accepts each webhook-id once (a
repeat is acknowledged and does nothing), answers 2xx at once and then, after its delay,
acts as the office would: it receives a request it is the window of, and approves one it
decides with a valid result (simulated_results.py), through the ledger's office routes
(simulator_answers.py). It can be told to fail, time out or answer slowly (`control`).
Its logs name messages, requests and actions, never payloads or results.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from integrations.registry.simulated_results import (
    PayloadNeededError,
    receipt_number,
    simulated_result,
)
from integrations.registry.simulator_answers import LedgerAnswers
from integrations.registry.simulator_control import Control, Reply
from integrations.registry.simulator_envelope import Envelope, actions_for, parse_envelope
from integrations.registry.simulator_journal import Journal

log = logging.getLogger("newborn_ledger.registry_simulator")
NAME = "simulated registry system"


@dataclass(frozen=True)
class SimulatorConfig:
    """What one simulated registry system is: its office's token, its secrets, its pace."""

    ledger_url: str
    token: str
    secrets: tuple[str, ...]
    delay_s: float = 1.0
    journal: str = ":memory:"

    def webhooks(self) -> tuple[Webhook, ...]:
        """One verifier per valid secret (two while a rotation overlaps); ValueError when a
        secret is not `whsec_` + base64."""
        if not 1 <= len(self.secrets) <= 2:
            raise ValueError("give one signing secret, or two while a rotation overlaps")
        return tuple(_webhook(secret) for secret in self.secrets)


def _webhook(secret: str) -> Webhook:
    if not secret.startswith("whsec_"):
        raise ValueError("a signing secret starts with whsec_ (as `registry add` prints it)")
    try:
        return Webhook(secret)
    except Exception:
        raise ValueError("a signing secret is whsec_ followed by base64") from None


@dataclass
class RegistrySimulator:
    """The simulated system's behaviour, free of any web framework (the CLI serves it)."""

    config: SimulatorConfig
    answers: LedgerAnswers
    journal: Journal = field(default_factory=Journal)
    control: Control = field(default_factory=Control)
    _verifiers: tuple[Webhook, ...] = ()
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)
    _locks: dict[UUID, asyncio.Lock] = field(default_factory=dict)
    _payloads: dict[UUID, dict[str, Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._verifiers = self.config.webhooks()

    @classmethod
    def create(cls, config: SimulatorConfig) -> RegistrySimulator:
        answers = LedgerAnswers(config.ledger_url, config.token)
        return cls(config, answers, Journal(config.journal))

    async def start(self) -> None:
        """Act on the messages accepted before a restart and not yet acted on."""
        for message_id, body in self.journal.pending():
            self._spawn(message_id, parse_envelope(body))
        log.info("%s: started, ledger %s", NAME, self.config.ledger_url)

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.answers.close()
        self.journal.close()

    async def idle(self) -> None:
        """Wait until every accepted message was acted on (tests)."""
        while self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def deliver(self, headers: Mapping[str, str], body: bytes) -> Reply:
        """One delivery: the control mode first, then the signature, then once per id."""
        if (held := await self.control.before_delivery()) is not None:
            return held
        message_id = {k.lower(): v for k, v in headers.items()}.get("webhook-id", "")
        if not self._verified(headers, body):
            log.warning("%s: delivery refused, signature not verified", NAME)
            return Reply(401, {"error": "signature not verified"})
        try:
            envelope = parse_envelope(body)
        except ValueError as exc:
            log.warning("%s: message %s refused: %s", NAME, message_id, exc)
            return Reply(400, {"error": str(exc)})
        fresh = self.journal.accept(
            message_id, envelope.type, str(envelope.subject), envelope.sequence, body
        )
        if not fresh:
            log.info("%s: message %s repeated, acknowledged only", NAME, message_id)
            return Reply(200, {"status": "duplicate"})
        log.info("%s: message %s (%s) accepted", NAME, message_id, envelope.kind)
        self._spawn(message_id, envelope)
        return Reply(200, {"status": "accepted"})

    def _verified(self, headers: Mapping[str, str], body: bytes) -> bool:
        for verifier in self._verifiers:
            try:
                verifier.verify(body, dict(headers), json_parse=False)
            except WebhookVerificationError:
                continue
            return True
        return False

    def _spawn(self, message_id: str, envelope: Envelope) -> None:
        if envelope.payload is not None:
            self._payloads[envelope.subject] = dict(envelope.payload)
        task = asyncio.get_running_loop().create_task(self._act(message_id, envelope))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _act(self, message_id: str, envelope: Envelope) -> None:
        """After the delay, the office's actions on the request, one request at a time."""
        lock = self._locks.setdefault(envelope.subject, asyncio.Lock())
        async with lock:
            await asyncio.sleep(self.config.delay_s)
            for action in actions_for(envelope.kind, envelope.role, envelope.mode):
                status = await self._answer(message_id, envelope, action)
                self.journal.answered(message_id, action, status)
                if not 200 <= status < 300:
                    break
            self.journal.done(message_id)

    async def _answer(self, message_id: str, envelope: Envelope, action: str) -> int:
        try:
            body = await self._body(envelope, action)
        except (KeyError, ValueError, PayloadNeededError) as exc:
            log.warning(
                "%s: no %s for request %s (%s)", NAME, action, envelope.subject, type(exc).__name__
            )
            return 0
        key = f"{message_id}:{action}"
        status = await self.answers.step(envelope.subject, action, body, key)
        level = logging.INFO if 200 <= status < 300 else logging.WARNING
        log.log(level, "%s: %s of request %s answered %d", NAME, action, envelope.subject, status)
        return status

    async def _body(self, envelope: Envelope, action: str) -> dict[str, Any]:
        if action == "receive":
            return {"receipt_number": receipt_number(envelope.locality, envelope.subject)}
        if action == "revoke":
            return {}
        payload = self._payloads.get(envelope.subject)
        if payload is None and envelope.case_id:  # e.g. a `received` message, after a restart
            payload = await self.answers.dispatched_payload(envelope.case_id, envelope.service)
            self._payloads[envelope.subject] = payload
        values = {**(payload or {}), **envelope.corrected}  # a correction: the new values
        handling = envelope.handling_locality
        return simulated_result(envelope.service, handling, envelope.subject, values)

    def status(self) -> dict[str, Any]:
        control = self.control.describe(self.control.clock())
        return {"status": "ok", "name": NAME, "control": control}
