"""What projections read from events: timestamps (never a wall clock), topics, places, routes."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta, timezone
from hashlib import sha1
from typing import Any
from uuid import UUID

from eventsourcing.utils import get_topic

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


def route_fields(route: dict[str, Any]) -> dict[str, Any]:
    """The office side of a ServiceRequest route: who handles, who receives, in which mode."""
    return {
        "authority": str(route["authority"]),
        "handling_locality": str(route["handling_locality"]),
        "receiving_locality": str(route["receiving_locality"]),
        "mode": route.get("mode"),
        "manual_routing": bool(route.get("manual_routing", False)),
    }


def uuid5_texts(namespace: UUID, names: Iterable[str]) -> list[str]:
    """`[str(uuid5(namespace, name)) for name in names]`, a third of its cost (the same
    SHA-1 of the namespace's bytes and the name; version 5 and RFC 4122 variant bits set on
    the digest's bytes, then formatted, without the two `UUID` objects per name)."""
    prefix, found = namespace.bytes, []
    for name in names:
        digest = bytearray(sha1(prefix + name.encode()).digest()[:16])
        digest[6] = (digest[6] & 0x0F) | 0x50
        digest[8] = (digest[8] & 0x3F) | 0x80
        h = digest.hex()
        found.append(f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}")
    return found
