"""`newborn-ledger demo`: a narrated end-to-end run over HTTP on a fresh SQLite store."""

from __future__ import annotations

import asyncio
import shutil
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx

from adapters.bootstrap import Container, build
from adapters.settings import Settings
from api.app import create_app
from domain.commands import NotifyBirth
from domain.facts import BirthFacts, Parent
from domain.identifiers import full_division_name, make_citizen_id

DEMO_HOSPITAL = "12430600MA4L0BHT5Q"  # synthetic, GB 32100-valid
CST = timezone(timedelta(hours=8))


def say(text: str) -> None:
    print(text, flush=True)


def demo_facts() -> BirthFacts:
    """A synthetic child born in Yueyang whose mother's hukou is in Wuhan (no real person)."""
    mother = Parent(
        citizen_id=make_citizen_id("420102", datetime(1994, 3, 8).date(), 124),
        name="示例母亲",
        phone="13800000000",
        hukou_division="420102",
        residence_division="430602",
    )
    return BirthFacts(
        facility_uscc=DEMO_HOSPITAL,
        record_ref="YY-2026-000123",
        born_at=datetime(2026, 11, 20, 8, 30, tzinfo=CST),
        sex="female",
        birth_division="430602",
        mother=mother,
        household_choice="mother",
        birth_weight_g=3350,
        gestation_weeks=39,
        birth_doses=("hepb-1", "bcg"),
    )


def run_demo(settings: Settings, directory: str) -> int:
    path = Path(directory)
    if path.exists():
        shutil.rmtree(path)
    container = build(settings.with_changes(persistence="sqlite", sqlite_dir=str(path)))
    try:
        asyncio.run(_narrate(container))
    finally:
        container.close()
    say(f"\nThe demo store is in {path}/ (one SQLite file per application).")
    return 0


async def _narrate(container: Container) -> None:
    app = create_app(container, close_on_shutdown=False)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://demo") as http:
        _, hospital = container.actors.add("hospital", DEMO_HOSPITAL, label="demo hospital")
        say(f"1. A hospital actor is registered for facility {DEMO_HOSPITAL}.")
        facts = demo_facts()
        outcome = container.ledger.notify_birth(NotifyBirth("demo-msg-0001", facts))
        say(
            f"2. Birth notified at {full_division_name(facts.birth_division)}: "
            f"case {outcome.case_id}, family tracking code {outcome.tracking_code}."
        )
        again = container.ledger.notify_birth(NotifyBirth("demo-msg-0001", facts))
        say(
            f"3. The same message again is answered the same way (repeated={again.repeated}), "
            "and nothing new is recorded."
        )
        anonymous = await http.get(f"/cases/{outcome.case_id}")
        say(f"4. Without a token: HTTP {anonymous.status_code} {anonymous.json()['title']}.")
        view = await http.get(f"/cases/{outcome.case_id}", headers=_bearer(hospital))
        say(f"5. The hospital reads its case: HTTP {view.status_code} {_short(view.json())}")
        say("6. The case's event stream:")
        for event in container.ledger.events.get(outcome.case_id):
            say(f"   v{event.originator_version} {type(event).__qualname__}")


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _short(view: dict[str, Any]) -> str:
    return f"state={view['state']} tracking_code={view['tracking_code']}"
