"""The family application's form: its fields read one by one, every refusal kept, each
named by its JSON pointer (api/family.py answers them all in one 422)."""

from __future__ import annotations

import re
from typing import Any

from adapters.facade import EvidenceRef
from api.bodies import field, required_str
from api.offices import evidence_refs
from api.problems import ApiError


class Form:
    """The application's fields read one by one, every refusal kept (not only the first)."""

    def __init__(self, body: dict[str, Any]) -> None:
        self.body = body
        self.refused: list[ApiError] = []

    def read(self, name: str, kind: type[Any], *, required: bool, limit: int) -> Any:
        try:
            if kind is str and required:
                return required_str(self.body, name, max_length=limit)
            return field(self.body, name, kind, required=required, max_length=limit)
        except ApiError as refused:
            self.refused.append(refused)
            return None

    def evidence(self) -> tuple[EvidenceRef, ...]:
        """The evidence references; a refusal is kept (named `evidence` when it names no
        field of its own, e.g. an unknown field in a reference), the others still read."""
        try:
            return evidence_refs(self.body)
        except ApiError as refused:
            refused.context.setdefault("field", "evidence")
            self.refused.append(refused)
            return ()

    def fields(self) -> frozenset[str]:
        names = (str(r.context.get("field", "")) for r in self.refused)
        return frozenset(re.split(r"[.\[]", name)[0] for name in names)  # evidence[0]: evidence

    def items(self) -> list[dict[str, Any]]:
        return [
            {"pointer": _pointer(r), "code": r.code, "detail": r.detail} | r.context
            for r in self.refused
        ]

    def answer(self, items: list[dict[str, Any]]) -> ApiError:
        """One 422 naming every problem in `items` (RFC 9457 `errors`, each with its JSON
        pointer; the form's own refusals first); a single refusal keeps its own problem."""
        if len(items) == 1 and self.refused:
            self.refused[0].context["errors"] = items
            return self.refused[0]
        details = "; ".join(str(item["detail"]) for item in items)
        return ApiError(
            422,
            "invalid-application",
            f"{len(items)} problem(s) in the application: {details}",
            field=items[0].get("field") or items[0]["pointer"].lstrip("/"),
            errors=items,
        )


def _pointer(refused: ApiError) -> str:
    """The refused field's JSON pointer (RFC 6901): `evidence[0].id` is `/evidence/0/id`."""
    name = str(refused.context.get("field", ""))
    return "/" + re.sub(r"\[(\d+)\]", r".\1", name).replace(".", "/")
