"""The dependency direction: domain ← projections ← integrations ← adapters ← api."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
OURS = ("domain", "projections", "integrations", "adapters", "api")
THIRD_PARTY_BANNED = {
    "domain": (
        "fhir",
        "starlette",
        "psycopg",
        "apscheduler",
        "orjson",
        "eventsourcing.sqlite",
        "eventsourcing.postgres",
        "uvicorn",
        "httpx",
    ),
    "projections": ("fhir", "starlette", "psycopg", "apscheduler"),
    "integrations": ("starlette", "psycopg", "eventsourcing.postgres", "eventsourcing.sqlite"),
    "adapters": ("starlette", "uvicorn"),
    "api": (),
}
ALLOWED_OURS = {
    "domain": ("domain",),
    "projections": ("domain", "projections"),
    "integrations": ("domain", "projections", "integrations"),
    "adapters": ("domain", "projections", "integrations", "adapters"),
    "api": ("domain", "integrations", "adapters", "api", "projections"),
}


def imports_of(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append(node.module)
    return found


@pytest.mark.parametrize("package", OURS)
def test_package_imports_follow_the_rule(package: str) -> None:
    offences = []
    for path in sorted((ROOT / package).rglob("*.py")):
        for module in imports_of(path):
            top = module.split(".")[0]
            if top in OURS and top not in ALLOWED_OURS[package]:
                offences.append(f"{path.relative_to(ROOT)} imports {module}")
            if any(module == b or module.startswith(b + ".") for b in THIRD_PARTY_BANNED[package]):
                offences.append(f"{path.relative_to(ROOT)} imports {module}")
    assert offences == []


def test_integrations_hospital_alone_knows_fhir() -> None:
    users = [
        str(path.relative_to(ROOT))
        for package in OURS
        for path in sorted((ROOT / package).rglob("*.py"))
        if any(m.split(".")[0] == "fhir" for m in imports_of(path))
    ]
    assert all(u.startswith("integrations/hospital/") for u in users), users
