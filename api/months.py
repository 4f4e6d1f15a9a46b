"""The month a monitor's query asks about (China time by default)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from starlette.requests import Request

from api.problems import ApiError

MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$", re.ASCII)


def month_of(request: Request) -> str:
    default = (datetime.now(UTC) + timedelta(hours=8)).strftime("%Y-%m")
    month = request.query_params.get("month", default)
    if not MONTH.match(month):
        raise ApiError(422, "invalid-parameter", "month is YYYY-MM", parameter="month")
    return month
