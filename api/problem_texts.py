"""The problem catalog: a Chinese title and detail for every problem code the API can answer.

The English title and detail stay as the code raising the problem wrote them (exact, with
values); the Chinese is this catalog's (api/problem_texts.json): per code, made more precise
for a rule, a field, a query parameter or the path where the problem names one (`variants`,
keyed "<code> <name>"). Templates take the problem's own members ({field}, {parameter},
{retry_after}...); one naming a member the problem lacks falls back to the code's plain
detail. tests/unit/test_problem_catalog.py walks the code base and fails on a code this
catalog does not know.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from importlib.resources import files
from typing import Any

import orjson

# The members a variant is chosen by, in order: a rule, a field, a query parameter, or the
# path the problem was answered on (`instance`: refusals name nothing else).
NAMED_BY = ("rule", "field", "parameter", "instance")


@cache
def catalog() -> dict[str, Any]:
    """{"codes": {code: {"title", "detail"}}, "variants": {"<code> <name>": detail}}."""
    data: dict[str, Any] = orjson.loads(files("api").joinpath("problem_texts.json").read_bytes())
    return data


def zh_title(code: str) -> str | None:
    entry = catalog()["codes"].get(code)
    return None if entry is None else str(entry["title"])


def zh_detail(code: str, members: Mapping[str, Any]) -> str | None:
    """The Chinese detail of a problem (or of one item of its `errors`), from its members."""
    entry = catalog()["codes"].get(code)
    if entry is None:
        return None
    variants: dict[str, str] = catalog()["variants"]
    for key in NAMED_BY:
        named = members.get(key)
        template = variants.get(f"{code} {named}") if isinstance(named, str) else None
        if template is not None and (text := _fill(template, members)) is not None:
            return text
    return _fill(entry["detail"], members) or str(entry["title"])


class _MissingMemberError(Exception):
    """A template names a member the problem does not have."""


class _Members(dict[str, Any]):
    def __missing__(self, key: str) -> Any:
        raise _MissingMemberError(key)


def _fill(template: str, members: Mapping[str, Any]) -> str | None:
    try:
        return template.format_map(_Members(members))
    except (_MissingMemberError, ValueError, IndexError, AttributeError):
        return None
