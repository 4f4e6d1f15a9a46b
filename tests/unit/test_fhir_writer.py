"""What the writer produces, the intake reads back as the very same facts."""

from __future__ import annotations

from dataclasses import replace

import orjson

from domain.births.commands import CorrectNotification, NotifyBirth, VoidNotification
from domain.births.facts import Parent
from integrations.hospital.birth_notification import parse_message
from integrations.hospital.writer import notification_message
from tests.conftest import make_facts


def round_trip(message: dict[str, object]) -> object:
    return parse_message(orjson.dumps(message)).command


def test_a_full_notification_round_trips() -> None:
    facts = replace(
        make_facts(
            "MR-W1",
            child_name="欧阳小明",
            certificate_number="X430602001",
            apgar_1=9,
            apgar_5=10,
            delivery_ref="D-1",
            multiple_birth=1,
        ),
        father=Parent(citizen_id=None, name="欧阳强", hukou_division="430602"),
    )
    command = round_trip(notification_message(facts, "msg-w1", facility_name="岳阳市妇幼保健院"))
    assert isinstance(command, NotifyBirth)
    assert command.message_id == "msg-w1"
    assert command.facts == facts


def test_a_minimal_notification_round_trips() -> None:
    facts = replace(make_facts("MR-W2"), birth_weight_g=None, gestation_weeks=None, birth_doses=())
    command = round_trip(notification_message(facts, "msg-w2"))
    assert isinstance(command, NotifyBirth)
    assert command.facts == facts


def test_update_and_void() -> None:
    facts = make_facts("MR-W3")
    update = round_trip(notification_message(facts, "msg-w3u", kind="update"))
    assert isinstance(update, CorrectNotification)
    assert update.facts == facts
    void = round_trip(notification_message(facts, "msg-w3v", kind="void"))
    assert isinstance(void, VoidNotification)
    assert (void.facility_uscc, void.record_ref) == (facts.facility_uscc, "MR-W3")
