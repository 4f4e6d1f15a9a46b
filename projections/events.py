"""What projections read from events: timestamps (never a wall clock), topics, places, routes."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from typing import Any

from eventsourcing.utils import get_topic

from domain.kernel.routing import Route

CST = timezone(timedelta(hours=8), "CST")  # months and office days are counted in China time


def stamp(event: Any) -> str:
    """The event's time as an ISO string (UTC), so a rebuild writes identical rows."""
    timestamp: datetime = event.timestamp
    return timestamp.isoformat()


def cst_date(iso: str) -> date:
    return datetime.fromisoformat(iso).astimezone(CST).date()


def month_of(iso: str) -> str:
    """'YYYY-MM' of an ISO timestamp, in China Standard Time."""
    moment = datetime.fromisoformat(iso).astimezone(CST)
    return f"{moment.year}-{moment.month:02d}"  # strftime("%Y-%m")'s text, a third of its cost


def topics_of(*classes: type) -> tuple[str, ...]:
    return tuple(get_topic(cls) for cls in classes)


def province(division: str | None) -> str | None:
    """The 2-digit province of a division code (None when unknown)."""
    return division[:2] if division else None


def route_fields(route: Route) -> dict[str, Any]:
    """The office side of a ServiceRequest route: who handles, who receives, in which mode."""
    planned = route.planned
    return {
        "authority": planned.authority,
        "handling_locality": planned.handling_locality,
        "receiving_locality": planned.receiving_locality,
        "mode": planned.mode,
        "manual_routing": planned.manual_routing,
    }
