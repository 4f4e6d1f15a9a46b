"""Intake problems: located issues, their collector, and the one error the intake raises."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pydantic import ValidationError
from pydantic_core import ErrorDetails

MAX_STRUCTURE_ISSUES = 100
MAX_NOTES = 100  # warnings in one acknowledgement


@dataclass(frozen=True)
class Issue:
    """One problem with a message, as an OperationOutcome.issue says it.

    `code` is a FHIR issue-type code (structure, required, value, invalid, not-supported,
    not-found, business-rule ...); `expression` is the FHIRPath of the offending element.
    """

    severity: str
    code: str
    diagnostics: str
    expression: str | None = None


class IntakeRejectedError(Exception):
    """A message was refused: 400 (not FHIR / not a message) or 422 (breaks the profile)."""

    def __init__(self, status: int, issues: Sequence[Issue], message_id: str | None = None) -> None:
        self.status = status
        self.issues: list[Issue] = list(issues)
        # The request's MessageHeader.id when it could be read: lets a reply echo it.
        self.message_id = message_id
        first = self.issues[0].diagnostics if self.issues else "rejected"
        super().__init__(f"{status}: {len(self.issues)} issue(s); first: {first}")


class Issues:
    """Collects every problem found in one pass, so the hospital can fix them all at once."""

    def __init__(self) -> None:
        self.items: list[Issue] = []
        self.notes: list[Issue] = []  # warnings: the message is accepted, they go in the ack

    def add(self, code: str, expression: str | None, diagnostics: str) -> None:
        self.items.append(Issue("error", code, diagnostics, expression))

    def required(self, expression: str, diagnostics: str) -> None:
        self.add("required", expression, diagnostics)

    def value(self, expression: str, diagnostics: str) -> None:
        self.add("value", expression, diagnostics)

    def warn(self, expression: str, diagnostics: str) -> None:
        """A fact the message gives that the ledger does not take (severity warning)."""
        if len(self.notes) < MAX_NOTES:
            self.notes.append(Issue("warning", "not-supported", diagnostics, expression))
        elif len(self.notes) == MAX_NOTES:
            text = "... and more facts that were not taken"
            self.notes.append(Issue("warning", "not-supported", text, "Bundle"))

    def raise_if_any(self, status: int = 422) -> None:
        if self.items:
            raise IntakeRejectedError(status, self.items)


def reject(status: int, code: str, expression: str | None, diagnostics: str) -> IntakeRejectedError:
    """A rejection with a single issue."""
    return IntakeRejectedError(status, [Issue("error", code, diagnostics, expression)])


def fhirpath(loc: Sequence[int | str], root: str = "Bundle") -> str:
    """('entry', 2, 'resource', '_birthDate') → 'Bundle.entry[2].resource.birthDate'."""
    path = root
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif part and part != "root" and part.isidentifier():
            path += "." + part.lstrip("_")
    return path


def structure_issues(exc: ValidationError, version: str) -> list[Issue]:
    """pydantic errors → located issues (capped: a garbage body can yield thousands)."""
    errors = exc.errors(include_url=False, include_input=False)
    issues = [_structure_issue(error, version) for error in errors[:MAX_STRUCTURE_ISSUES]]
    if len(errors) > MAX_STRUCTURE_ISSUES:
        more = len(errors) - MAX_STRUCTURE_ISSUES
        text = f"... and {more} more structural errors"
        issues.append(Issue("error", "structure", text, "Bundle"))
    return issues


def _structure_issue(error: ErrorDetails, version: str) -> Issue:
    kind = error["type"]
    if kind == "missing" or kind.endswith(".missing"):
        code, text = "required", "A required element is missing"
    elif kind == "extra_forbidden":
        code, text = "structure", "Unknown element: it is not part of this resource"
    elif kind == "string_pattern_mismatch" and error["loc"][-1:] == ("id",):
        code, text = (
            "value",
            "An id holds only letters, digits, '-' and '.' (urn:uuid goes in fullUrl)",
        )
    else:
        code, text = "value", error["msg"].removeprefix("Value error, ")
    return Issue("error", code, f"{text} (FHIR {version})", fhirpath(error["loc"]))
