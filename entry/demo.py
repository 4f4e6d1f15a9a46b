"""`newborn-ledger demo`: births across the alliance, end to end over the HTTP API.

Hospitals post FHIR notifications, families track and apply, and SIMULATED registry offices
(named as such: no real office is contacted) work their queues with realistic results.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
import orjson
from stdnum.cn import uscc

from adapters.facade import (
    BirthFacts,
    Container,
    Parent,
    ServiceRequest,
    build,
    full_division_name,
    load_catalog,
    make_citizen_id,
    notification_message,
)
from adapters.settings import Settings
from api.app import create_app
from entry.demo_guide import CLERK_OFFICE, FamilyLogin, add_staff, guide
from entry.demo_systems import (
    SimulatedSystem,
    deciders,
    free_port,
    offices_of,
    serve,
    start_systems,
    stop_systems,
    until_completed,
)
from entry.progress import Progress

CST = timezone(timedelta(hours=8))


@dataclass(frozen=True)
class Scenario:
    """A realistic family (domain reference §6 pairs); all people are synthetic."""

    birth: str
    hukou: str
    mother: str
    child: str
    note: str


SCENARIOS = [
    Scenario("430602", "420102", "王芳", "王安然", "born in Yueyang, hukou in Wuhan (Hunan-Hubei)"),
    Scenario(
        "330302", "520102", "杨梅", "杨子涵", "born in Wenzhou, hukou in Guiyang (Zhejiang-Guizhou)"
    ),
    Scenario(
        "310116", "330482", "沈静", "沈嘉禾", "born in Shanghai Jinshan, hukou in Pinghu (YRD)"
    ),
    Scenario(
        "500103", "520102", "罗丽", "罗一诺", "born in Chongqing, hukou in Guiyang (south-west)"
    ),
    Scenario("440304", "430602", "李娟", "李思远", "born in Shenzhen, hukou in Yueyang"),
    Scenario(
        "430102", "430602", "刘敏", "刘星辰", "born in Changsha, hukou in Yueyang (same province)"
    ),
    Scenario(
        "230102",
        "650102",
        "马兰",
        "马晓东",
        "born in Harbin, hukou in Urumqi: no agreement, routed by the national 跨省通办 list",
    ),
]


def say(text: str = "") -> None:
    print(text, flush=True)


def facility(division: str) -> str:
    """A synthetic, GB 32100-valid USCC of a public hospital registered in `division`."""
    body = f"12{division}MB{int(division) % 9973:07d}"[:17]
    return body + uscc.calc_check_digit(body)


def scenario_facts(number: int, scenario: Scenario, now: datetime) -> BirthFacts:
    born = now - timedelta(days=2, hours=number)
    mother = Parent(
        citizen_id=make_citizen_id(scenario.hukou, datetime(1994, 3, 8).date(), 120 + number * 2),
        name=scenario.mother,
        phone=f"1390000{number:04d}",
        hukou_division=scenario.hukou,
        residence_division=scenario.birth,
    )
    return BirthFacts(
        facility_uscc=facility(scenario.birth),
        record_ref=f"DEMO-{number:04d}",
        born_at=born,
        sex="female" if number % 2 else "male",
        birth_division=scenario.birth,
        mother=mother,
        household_choice="mother",
        birth_weight_g=3000 + 37 * number,
        gestation_weeks=39,
        apgar_1=9,
        apgar_5=10,
        birth_doses=("hepb-1", "bcg"),
    )


class Demo:
    """Drives every party through the HTTP API, as their own systems would."""

    def __init__(self, container: Container, http: httpx.AsyncClient) -> None:
        self.container, self.http = container, http
        self.tokens: dict[tuple[str, str], str] = {}
        self.sequence = 0
        # the exception paths the demo shows, each decided once by a SIMULATED office
        self.reject_once: set[str] = set()
        self.notice_once: set[str] = set()

    def token(self, role: str, scope: str | None, authority: str | None = None) -> str:
        key = (f"{role}:{scope}", authority or "")
        if key not in self.tokens:
            label = "SIMULATED office" if role == "office" else f"demo {role}"
            self.tokens[key] = self.container.actors.add(role, scope, authority, label)[1]
        return self.tokens[key]

    def auth(self, token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}

    async def notify(
        self, facts: BirthFacts, message_id: str, kind: str = "notify"
    ) -> dict[str, str]:
        body = orjson.dumps(notification_message(facts, message_id, kind=kind))
        headers = {
            **self.auth(self.token("hospital", facts.facility_uscc)),
            "Content-Type": "application/fhir+json",
        }
        reply = await self.http.post("/fhir/$process-message", content=body, headers=headers)
        params = next(
            e["resource"]
            for e in reply.json()["entry"]
            if e["resource"]["resourceType"] == "Parameters"
        )
        return {p["name"]: p.get("valueString", "") for p in params["parameter"]}

    async def family_applies(self, ack: dict[str, str], facts: BirthFacts, child: str) -> str:
        verifier = (facts.mother.citizen_id or "")[-6:]
        tracked = await self.http.post(
            "/track", json={"tracking_code": ack["tracking_code"], "verifier": verifier}
        )
        family = tracked.json()["token"]
        await self.http.post(
            f"/cases/{ack['case_id']}/family-application",
            headers=self.auth(family),
            json={
                "child_name": child,
                "household": "mother",
                "residence_division": facts.mother.residence_division,
                "consent": True,
            },
        )
        return str(family)

    async def offices_work(self, places: set[tuple[str, str]]) -> int:
        """SIMULATED offices: each round, every office receives and decides what is due."""
        steps = 0
        for _ in range(12):
            moved = sum([await self.work_queue(loc, auth) for loc, auth in sorted(places)])
            steps += moved
            if not moved:
                break
        return steps

    async def work_queue(self, locality: str, authority: str) -> int:
        headers = self.auth(self.token("office", locality, authority))
        queue = await self.http.get(
            f"/offices/{locality}/{authority}/queue?limit=500", headers=headers
        )
        moved = 0
        for row in queue.json()["rows"]:
            action, body = self.decision(row, locality)
            if action:
                answer = await self.http.post(
                    f"/service-requests/{row['service_request_id']}/{action}",
                    json=body,
                    headers=headers,
                )
                moved += answer.status_code == 200
        return moved

    def decision(self, row: dict[str, Any], locality: str) -> tuple[str | None, dict[str, Any]]:
        receiving, deciding = (
            row["role"] in ("receive-for-other", "both"),
            row["role"] in ("decide-here", "both"),
        )
        self.sequence += 1
        request_id, state = row["service_request_id"], row["state"]
        if state == "dispatched" and receiving and request_id in self.notice_once:
            self.notice_once.discard(request_id)
            return "request-supplement", {"items": list(NOTICE_ITEMS)}
        if state == "dispatched" and receiving:
            return "receive", {"receipt_number": f"SIM-{locality}-{self.sequence:05d}"}
        if state == "received" and deciding and request_id in self.reject_once:
            self.reject_once.discard(request_id)
            return "reject", {"reason": REJECTION, "basis": REJECTION_BASIS}
        field = load_catalog()[row["service"]].result_field
        if state == "received" and deciding:
            return "approve", {field: self.result(row, locality)}
        if state == "correction-requested" and deciding:
            return "approve-correction", {field: self.result(row, locality, corrected=True)}
        if state == "revocation-requested" and deciding:
            return "revoke", {}
        return None, {}

    def result(self, row: dict[str, Any], locality: str, corrected: bool = False) -> str:
        """A realistic result; for a correction, re-issued from the corrected facts."""
        service, seq = row["service"], self.sequence
        if service == "birth-certificate":
            return f"Y{locality[:2]}{seq:07d}"
        if service == "household-registration":
            request = self.container.ledger.get_request(UUID(row["service_request_id"]))
            payload = request.corrected_payload if corrected else request.payload
            born = str(payload["born_at"])
            return make_citizen_id(locality, datetime.fromisoformat(born).date(), 2 * seq % 1000)
        prefix = {
            "vaccination": "VR",
            "medical-insurance": "MI",
            "social-security-card": "SSC",
            "maternity-benefits": "MB",
        }[service]
        return f"{prefix}-{locality}-{seq:06d}"

    async def families_answer(self, cases: list[DemoCase]) -> int:
        """Each family answers what its case waits on it for: the one-time notice's items,
        and a rejected request resubmitted (its data corrected through the application)."""
        answered = 0
        for case in cases:
            view = (await self.http.get(f"/cases/{case.case_id}", headers=case.family)).json()
            for shown in view["services"]:
                request_id = shown["service_request_id"]
                if shown["state"] == "supplement-requested":
                    body = {"items": list(shown.get("awaiting") or NOTICE_ITEMS)}
                    path = f"/service-requests/{request_id}/supplement"
                elif shown["state"] == "rejected" and not shown.get("resubmitted_as"):
                    body, path = {}, f"/service-requests/{request_id}/resubmit"
                else:
                    continue
                answer = await self.http.post(path, json=body, headers=case.family)
                answered += answer.status_code == 200
        return answered


@dataclass(frozen=True)
class DemoCase:
    number: int
    scenario: Scenario
    facts: BirthFacts
    case_id: str
    tracking_code: str
    family: dict[str, str]


NOTICE_ITEMS = ("监护人身份证明 (guardian's identity document)",)
REJECTION = "申请信息与分娩记录不一致 (the application does not match the delivery record)"
REJECTION_BASIS = "Administrative Licensing Law Art. 38"


SYSTEMS_SCENARIO = Scenario(
    "430602", "430602", "周丽", "周子墨", "born, registered and living in Yueyang"
)
WAITING_SCENARIO = Scenario(
    "420102", "420102", "陈静", "陈可欣", "born, registered and living in Wuhan"
)
progress = Progress()


def step(text: str) -> None:
    """Where the demo is, on stderr (the story is on stdout)."""
    progress.step(f"demo: {text}")


async def narrate(container: Container, logs: Path) -> FamilyLogin:
    """The story on stdout; returns the family whose case is left for the demo's clerk."""
    app = create_app(container, close_on_shutdown=False)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://demo"
    ) as http:
        demo = Demo(container, http)
        now = datetime.now(UTC).astimezone(CST)
        admin = demo.auth(demo.token("admin", None))
        say("Births across the alliance (all people synthetic; offices are SIMULATED):")
        places: set[tuple[str, str]] = set()
        cases: list[DemoCase] = []
        for number, scenario in enumerate(SCENARIOS, start=1):
            step(f"birth {number} of {len(SCENARIOS)}: the hospital notifies, the family applies")
            facts = scenario_facts(number, scenario, now)
            ack = await demo.notify(facts, f"demo-{number:04d}")
            family = await demo.family_applies(ack, facts, scenario.child)
            view = (await http.get(f"/cases/{ack['case_id']}", headers=admin)).json()
            cases.append(
                DemoCase(
                    number, scenario, facts, ack["case_id"], ack["tracking_code"],
                    demo.auth(family),
                )
            )  # fmt: skip
            say(
                f"\n{number}. {scenario.note}: case {ack['case_id'][:8]}…, "
                f"tracking code {ack['tracking_code']}"
            )
            for s in view["services"]:
                route = "MANUAL ROUTING NEEDED" if s["manual_routing"] else s["mode"]
                say(
                    f"   {s['service']:<24} handled {full_division_name(s['handling_locality'])}"
                    f" ({s['handling_locality']}), received {s['receiving_locality']}, {route}"
                )
                places |= {
                    (s["handling_locality"], load_catalog()[s["service"]].authority),
                    (s["receiving_locality"], load_catalog()[s["service"]].authority),
                }
        step("the SIMULATED offices work their queues")
        steps = await _exception_paths(demo, cases, places)
        say(
            f"\nSimulated offices took {steps} steps "
            "(receipts, certificate numbers, citizen IDs, ...)."
        )
        step("outcomes, ratings and the monitor's figures")
        await _outcomes(demo, http, cases)
        await _figures(demo, http, places)
    step("five SIMULATED registry systems decide a birth (a few seconds)")
    await _registry_systems(container, logs, len(SCENARIOS) + 1)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://demo"
    ) as http:
        step("a birth left for you")
        return await _left_for_the_clerk(Demo(container, http), len(SCENARIOS) + 2)


async def _left_for_the_clerk(demo: Demo, number: int) -> FamilyLogin:
    """A birth whose hukou registration waits at the demo clerk's office: every other office
    that can decide decides, so the clerk has a real request to receive and approve at
    /office (and the services planned behind it wait for that)."""
    facts = scenario_facts(number, WAITING_SCENARIO, datetime.now(UTC).astimezone(CST))
    ack = await demo.notify(facts, f"demo-{number:04d}")
    family = demo.auth(await demo.family_applies(ack, facts, WAITING_SCENARIO.child))
    others = {office for office in offices_of(WAITING_SCENARIO.birth) if office != CLERK_OFFICE}
    await demo.offices_work(others)
    view = (await demo.http.get(f"/cases/{ack['case_id']}", headers=family)).json()
    say(
        f"\n{number}. {WAITING_SCENARIO.note}: case {ack['case_id'][:8]}…, tracking code "
        f"{ack['tracking_code']}. Left for you: {_held_by_the_clerk(view)}"
    )
    for waiting in view["waiting_on"]:
        say(
            f"   held by {waiting['who']} ({waiting['party']}) until {waiting['due'] or '-'}: "
            f"{waiting['action']} ({waiting['service'] or 'the case'})"
        )
    verifier = (facts.mother.citizen_id or "")[-6:]
    return FamilyLogin(WAITING_SCENARIO.child, ack["tracking_code"], verifier)


def _held_by_the_clerk(view: dict[str, Any]) -> str:
    """What the clerk's office holds and what waits behind it, as the case view says."""
    office = " ".join(reversed(CLERK_OFFICE))  # as `waiting_on` names an office
    held = [w for w in view["waiting_on"] if w["who"] == office]
    behind = [service for w in held for service in w["behind"]]
    waits = {0: "nothing waits behind it", 1: f"{''.join(behind)} waits behind it"}.get(
        len(behind), f"{len(behind)} services wait behind it: {', '.join(behind)}"
    )
    holds = ", ".join(w["service"] for w in held) or "nothing"
    return (
        f"the hukou office ({office}) holds {holds}; {waits}. Its clerk is the demo's demo.clerk."
    )


async def _registry_systems(container: Container, logs: Path, number: int) -> None:
    """A birth whose five offices all run their own systems (SIMULATED registry systems, each
    its own process): pushed signed messages, answering through the API with their tokens."""
    locality = SYSTEMS_SCENARIO.birth
    port = free_port()
    ledger = f"http://127.0.0.1:{port}"
    server, serving = await serve(container, port)
    systems: list[SimulatedSystem] = []
    try:
        systems = await start_systems(container, ledger, locality, logs)
        say(
            f"\n{number}. {SYSTEMS_SCENARIO.note}: every office runs its own system. "
            f"{len(systems)} SIMULATED registry systems (separate processes) are registered "
            "as `newborn-ledger registry add` does; the ledger serves " + ledger + " and "
            "pushes each office's messages to its system as signed webhooks (Standard Webhooks)."
        )
        async with httpx.AsyncClient(base_url=ledger, timeout=10) as http:
            demo = Demo(container, http)
            facts = scenario_facts(number, SYSTEMS_SCENARIO, datetime.now(UTC).astimezone(CST))
            ack = await demo.notify(facts, f"demo-{number:04d}")
            await demo.family_applies(ack, facts, SYSTEMS_SCENARIO.child)
            admin = demo.auth(demo.token("admin", None))
            view = await until_completed(http, admin, ack["case_id"])
            officers = await deciders(http, admin, ack["case_id"])
            labels = {f"system:{s.actor_id}": s.authority for s in systems}
            for entry in view["services"]:
                result = ", ".join(f"{k} {v}" for k, v in (entry.get("result") or {}).items())
                by = labels.get(officers.get(entry["service"], ""), "a clerk")
                say(
                    f"   {entry['service']:<24} {entry['state']:<9} {result or '-'}"
                    f"  (decided by the SIMULATED {by} system)"
                )
            delivered = dead = 0
            for entry in view["services"]:
                answer = await http.get(
                    f"/service-requests/{entry['service_request_id']}/deliveries", headers=admin
                )
                for system in answer.json()["systems"]:
                    states = [d["state"] for d in system["deliveries"]]
                    delivered += states.count("delivered")
                    dead += states.count("dead")
            say(
                f"   Case {view['state']}: {delivered} signed deliveries, {dead} dead letters; "
                f"the simulated systems' logs are in {logs}/simulated-*.log."
            )
    finally:
        await stop_systems(systems)
        server.should_exit = True
        await serving


async def _exception_paths(demo: Demo, cases: list[DemoCase], places: set[tuple[str, str]]) -> int:
    """The offices' work, with the paths off the happy one: a one-time notice the family
    answers, a rejection the family resubmits, a hospital's birth-date correction after the
    results (the offices re-issue them), and a void after the results (revoked)."""
    notice, rejected, corrected, voided = cases[1], cases[2], cases[0], cases[5]
    demo.notice_once.add(str(ServiceRequest.create_id(UUID(notice.case_id), "vaccination")))
    certificate = ServiceRequest.create_id(UUID(rejected.case_id), "birth-certificate")
    demo.reject_once.add(str(certificate))
    steps = await demo.offices_work(places)
    say(
        f"\n{notice.scenario.child}: the vaccination window gives a one-time notice "
        f"(一次性告知); {rejected.scenario.child}: the birth certificate is rejected "
        "(reason and legal basis shown to the family)."
    )
    answered = await demo.families_answer(cases)
    say(f"   The families answer ({answered}: the items supplied, the rejection resubmitted).")
    steps += await demo.offices_work(places)
    earlier = replace(corrected.facts, born_at=corrected.facts.born_at - timedelta(days=1))
    await demo.notify(earlier, "demo-0001-update", kind="update")
    say(
        f"   {corrected.scenario.child}: the hospital corrects the birth date after the results: "
        "each office that decided is asked to correct, and re-issues its result."
    )
    await demo.notify(voided.facts, "demo-0006-void", kind="void")
    say(
        f"   {voided.scenario.child}: the hospital voids the record after the results "
        "(entered in error): each office that issued one is asked to revoke it."
    )
    return steps + await demo.offices_work(places)


async def _outcomes(demo: Demo, http: httpx.AsyncClient, cases: list[DemoCase]) -> None:
    say("\nOutcomes (each family rates a completed case; one gives a bad rating):")
    for index, case in enumerate(cases):
        view = (await http.get(f"/cases/{case.case_id}", headers=case.family)).json()
        hukou = [s for s in view["services"] if s["service"] == "household-registration"]
        citizen_id = ((hukou[-1].get("result") or {}) if hukou else {}).get("citizen_id", "-")
        if hukou and hukou[-1]["state"] == "revoked":
            citizen_id = f"{citizen_id} (revoked)"
        if view["state"] == "completed":
            score = 2 if index == 1 else 5
            await http.post(
                f"/cases/{case.case_id}/rating",
                headers=case.family,
                json={"score": score, "comment": "演示评价 (demo rating)"},
            )
        say(f"   {case.scenario.child}: case {view['state']}; citizen ID {citizen_id}")
        for waiting in view["waiting_on"]:
            due = waiting["due"] or "-"
            say(
                f"      held by {waiting['who']} ({waiting['party']}) until {due}: "
                f"{waiting['action']} ({waiting['service'] or 'the case'})"
            )


async def _figures(demo: Demo, http: httpx.AsyncClient, places: set[tuple[str, str]]) -> None:
    monitor = demo.auth(demo.token("monitor", "national"))
    month = datetime.now(UTC).astimezone(CST).strftime("%Y-%m")
    say(f"\nPer-locality figures for {month} (handling offices):")
    say(f"   {'code':<7} {'locality':<12} received decided completed on-time median-h ratings bad")
    for locality in sorted({loc for loc, _ in places}):
        figures = (
            await http.get(f"/monitoring/localities/{locality}?month={month}", headers=monitor)
        ).json()
        if figures["received"] or figures["decided"]:
            on_time = "-" if figures["on_time_rate"] is None else f"{figures['on_time_rate']:.0%}"
            median = "-" if figures["median_hours"] is None else f"{figures['median_hours']:.2f}"
            say(
                f"   {locality:<7} {full_division_name(locality):<12} {figures['received']:>8} "
                f"{figures['decided']:>7} {figures['completed']:>9} {on_time:>7} {median:>8} "
                f"{figures['ratings']:>7} {figures['bad_ratings']:>3}"
            )
    flows = (await http.get(f"/monitoring/flows?month={month}", headers=monitor)).json()["flows"]
    say(
        "\nFlows, birth province → hukou province: "
        + ", ".join(f"{f['birth_province']}→{f['hukou_province']}: {f['cases']}" for f in flows)
    )


def run_demo(settings: Settings, directory: str) -> int:
    """The demo on a fresh SQLite store under `directory`: the story on stdout, where it is on
    stderr, its log lines in `directory`/demo.log (warnings on stderr as well)."""
    path = Path(directory).resolve()
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True)
    with _logs_to(path / "demo.log"):
        container = build(settings.with_changes(persistence="sqlite", sqlite_dir=str(path)))
        try:
            family = asyncio.run(narrate(container, path))
            step("staff accounts for the pages")
            staff = add_staff(container)
        finally:
            progress.done()
            container.close()
    say()
    for line in guide(settings, path, staff, family):
        say(line)
    return 0


@contextmanager
def _logs_to(file: Path) -> Iterator[None]:
    """Log records go to `file`; the terminal's log handlers show warnings and errors only."""
    root = logging.getLogger()
    shown = [(handler, handler.level) for handler in root.handlers]
    kept = logging.FileHandler(file, encoding="utf-8")
    kept.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    for handler, _ in shown:
        handler.setLevel(max(handler.level, logging.WARNING))
    root.addHandler(kept)
    try:
        yield
    finally:
        root.removeHandler(kept)
        kept.close()
        for handler, level in shown:
            handler.setLevel(level)
