"""The family's rating (好差评) of its newborn bundle and the follow-up of a bad one: the
kernel's rules (domain/kernel/rating.py), named here for the births wing's code and tests.

A family rates its case once, as one matter (一事一评): the newborn bundle is one thing. The
rating implies the service an office decided last; its unit answers for it; a bad rating
(1-2 of 5) is called back within CALL_BACK_WORKING_DAYS working days.
"""

from __future__ import annotations

from domain.kernel.rating import (
    BAD_RATING,
    CALL_BACK_WORKING_DAYS,
    DECIDED,
    MAX_NOTE,
    OUTCOMES,
    FollowUpNotFoundError,
    InvalidCallBackError,
    RatedUnit,
    RatingCommands,
    RecordCallBack,
    check_call_back,
    rated_unit,
)

__all__ = [
    "BAD_RATING",
    "CALL_BACK_WORKING_DAYS",
    "DECIDED",
    "MAX_NOTE",
    "OUTCOMES",
    "FollowUpNotFoundError",
    "InvalidCallBackError",
    "RatedUnit",
    "RatingCommands",
    "RecordCallBack",
    "check_call_back",
    "rated_unit",
]
