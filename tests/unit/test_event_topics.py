"""Stored events are a contract: their topics must never change silently."""

from __future__ import annotations

from eventsourcing.domain import CanMutateAggregate
from eventsourcing.utils import get_topic, resolve_topic

from domain.births.birth_case import BirthCase
from domain.births.hospital_message import HospitalMessage
from domain.idcards.case import IdCardCase
from domain.kernel.actors import Actor
from domain.kernel.answers import Answer
from domain.kernel.case_plan import CasePlan
from domain.kernel.remote_window import RemoteWindowSession
from domain.kernel.service_request import ServiceRequest
from domain.kernel.staff import OidcSubject, StaffUser
from domain.kernel.systems import RegistrySystem
from domain.marriage.case import MarriageCase
from engine.parked_notifications import ParkedNotification

PINNED = {
    "domain.birth_case:BirthCase": [
        "CalledBack",
        "Closed",
        "Completed",
        "FamilyApplied",
        "FamilyCorrected",
        "NotificationCorrected",
        "Notified",
        "Rated",
        "ServicesPlanned",
        "VoidFinished",
        "VoidRequested",
        "Voided",
    ],
    "domain.service_request:ServiceRequest": [
        "Approved",
        "Blocked",
        "CorrectionApproved",
        "CorrectionFlagged",
        "CorrectionRejected",
        "CorrectionRequested",
        "CorrectionWithdrawn",
        "DeadlineApproaching",
        "DeemedAccepted",
        "Delivered",
        "DeliveryFailed",
        "Dispatched",
        "Overdue",
        "Planned",
        "Received",
        "Redispatched",
        "Rejected",
        "Replanned",
        "Resubmitted",
        "RevocationRequested",
        "Revoked",
        "Routed",
        "RoutingOverdue",
        "SupplementRequested",
        "Supplemented",
        "Withdrawn",
    ],
    "domain.case_plan:CasePlan": [
        "CompletionOrdered",
        "CorrectionForwarded",
        "CorrectionsRequested",
        "DispatchOrdered",
        "InputsUpdated",
        "Opened",
        "PlanDrawn",
        "PlanRevised",
        "RejectionNoted",
        "ResubmissionNoted",
        "ResultNoted",
        "ResultReissued",
        "RevocationNoted",
        "RevocationOrdered",
        "RouteTaken",
        "VoidFinishOrdered",
        "WithdrawalOrdered",
    ],
    "domain.hospital_message:HospitalMessage": ["Accepted"],
    "domain.kernel.remote_window:RemoteWindowSession": [
        "Booked",
        "Cancelled",
        "Ended",
        "Joined",
        "Started",
    ],
    "domain.marriage.case:MarriageCase": [
        "Applied",
        "CalledBack",
        "Closed",
        "Completed",
        "Rated",
        "ServicesPlanned",
    ],
    "domain.idcards.case:IdCardCase": [
        "Applied",
        "CalledBack",
        "Closed",
        "Completed",
        "Rated",
        "ServicesPlanned",
    ],
    "domain.actors:Actor": ["Added", "Revoked"],
    "domain.kernel.answers:Answer": ["Recorded"],
    "domain.kernel.systems:RegistrySystem": ["Disabled", "Registered", "SecretRotated"],
    "domain.staff:StaffUser": [
        "Added",
        "Disabled",
        "PasswordReset",
        "SignInFailed",
        "SignedIn",
        "TotpReset",
        "TotpStepUsed",
    ],
    "domain.staff:OidcSubject": ["Claimed"],
    "adapters.parked_notifications:ParkedNotification": [
        "Applied",
        "FailedAgain",
        "Parked",
        "Skipped",
    ],
}
AGGREGATES = (
    BirthCase,
    ServiceRequest,
    CasePlan,
    HospitalMessage,
    RemoteWindowSession,
    MarriageCase,
    IdCardCase,
    Actor,
    Answer,
    RegistrySystem,
    StaffUser,
    OidcSubject,
    ParkedNotification,
)


def event_names(aggregate: type) -> list[str]:
    return sorted(
        name
        for name, value in vars(aggregate).items()
        if isinstance(value, type)
        and issubclass(value, CanMutateAggregate)
        and name not in ("Created", "Event")
    )


def test_every_event_class_is_pinned() -> None:
    found = {get_topic(a): event_names(a) for a in AGGREGATES}
    assert found == PINNED


def test_every_pinned_topic_resolves() -> None:
    for prefix, names in PINNED.items():
        for name in names:
            assert resolve_topic(f"{prefix}.{name}").__qualname__.endswith(name)
