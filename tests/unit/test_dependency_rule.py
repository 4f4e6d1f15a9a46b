"""The dependency rule, as strict as the layering it states:

    engine < domain < projections < integrations < adapters < api < entry

Each package imports only the packages of ours its row allows. The engine and the domain
import nothing of ours but themselves; `api` and `entry` reach the layers below only through
the composition root (adapters/bootstrap.py, the facade it hands out, and the settings).
FHIR models and pydantic live in integrations/hospital/ alone. The imports are read with
`ast` (every import statement, also inside functions and TYPE_CHECKING blocks; relative
imports resolved), so the rule holds for every line, not only a module's header.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LAYERS = ("engine", "domain", "projections", "integrations", "adapters", "api", "entry")
NOT_LAYERED = ("tests", "bench")  # they may import anything
ROOT_MODULES = ("adapters.bootstrap", "adapters.facade", "adapters.settings")
# package → what of ours it may import: a package name allows it whole, a dotted name only
# that module (and what is below it)
ALLOWED_OURS: dict[str, tuple[str, ...]] = {
    "engine": ("engine",),
    "domain": ("domain",),
    "projections": ("engine", "domain", "projections"),
    "integrations": ("domain", "projections", "integrations"),
    "adapters": ("engine", "domain", "projections", "integrations", "adapters"),
    "api": ("api", *ROOT_MODULES),
    "entry": ("entry", "api", *ROOT_MODULES),
}
FHIR = ("fhir", "fhir_core", "pydantic", "pydantic_core")  # integrations/hospital/ only
WEB = ("starlette", "uvicorn")  # api/ and entry/ only
THIRD_PARTY_BANNED: dict[str, tuple[str, ...]] = {
    # view logic only: the collector, writer threads and processes are the engine's
    "projections": (
        *WEB,
        "psycopg",
        "apscheduler",
        "eventsourcing.postgres",
        "gc",
        "threading",
        "concurrent",
        "multiprocessing",
    ),
    "integrations": (*WEB, "psycopg", "eventsourcing.postgres", "eventsourcing.sqlite"),
    "adapters": WEB,
    "api": (),
    "entry": (),
}
# The domain and the engine name what they may use outside the standard library (an
# allowlist, not a ban): the domain eventsourcing's domain/application/system API and its
# identifier and calendar libraries; the engine the library and the stores' drivers.
THIRD_PARTY_ALLOWED: dict[str, tuple[str, ...]] = {
    "domain": (
        "eventsourcing.domain",
        "eventsourcing.application",
        "eventsourcing.system",
        "eventsourcing.persistence",
        "eventsourcing.dispatch",
        "eventsourcing.utils",
        "stdnum",
        "chinese_calendar",
    ),
    "engine": ("eventsourcing", "psycopg", "psycopg_pool", "orjson"),
}
STANDARD = frozenset(sys.stdlib_module_names) | {"_typeshed"}  # _typeshed: type checking only


def present(packages: tuple[str, ...]) -> list[str]:
    """The layers there are (the engine comes while the domain is being freed of it)."""
    return [p for p in packages if (ROOT / p / "__init__.py").is_file()]


def sources(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def _is_module(dotted: str) -> bool:
    path = ROOT.joinpath(*dotted.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def _base(path: Path, node: ast.ImportFrom) -> str:
    """The absolute module of `from ... import`, relative ones resolved against `path`."""
    if node.level == 0:
        return node.module or ""
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    anchor = parts[: len(parts) - node.level]
    return ".".join([*anchor, *([node.module] if node.module else [])])


def imports_of(path: Path) -> Iterator[str]:
    """Every module the file imports: `from pkg import module` counts as `pkg.module`."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = _base(path, node)
            for alias in node.names:
                dotted = f"{base}.{alias.name}"
                yield dotted if _is_module(dotted) else base


def _within(module: str, names: tuple[str, ...]) -> bool:
    return any(module == n or module.startswith(n + ".") for n in names)


def _offences(package: str) -> Iterator[str]:
    for path in sources(package):
        where = path.relative_to(ROOT)
        found = dict.fromkeys(imports_of(path))
        yield from (f"{where} imports {m}" for m in found if not _may(package, m))


def _may(package: str, module: str) -> bool:
    """Whether `package` may import `module` (ours by its row, third party by its ban or,
    for the domain and the engine, by their allowlist)."""
    top = module.split(".")[0]
    if top in LAYERS:
        return _within(module, ALLOWED_OURS[package])
    if package in THIRD_PARTY_ALLOWED:
        allowed = THIRD_PARTY_ALLOWED[package]
        return top in STANDARD or _within(module, allowed)
    return not _within(module, THIRD_PARTY_BANNED[package])


@pytest.mark.parametrize("package", present(LAYERS))
def test_package_imports_follow_the_rule(package: str) -> None:
    assert list(_offences(package)) == []


def test_every_package_of_ours_has_its_row() -> None:
    """A new top-level package must take its place in the layering (and this table)."""
    ours = {p.parent.name for p in ROOT.glob("*/__init__.py")}
    assert ours - set(LAYERS) - set(NOT_LAYERED) == set()


def test_fhir_and_pydantic_stay_in_integrations_hospital() -> None:
    users = [
        f"{path.relative_to(ROOT)} imports {module}"
        for package in present(LAYERS)
        for path in sources(package)
        for module in imports_of(path)
        if module.split(".")[0] in FHIR
    ]
    assert all(u.startswith("integrations/hospital/") for u in users), users


def test_oauth_and_jose_stay_in_integrations_identity() -> None:
    """The identity provider's protocol (Authlib, joserfc) is one integration's business;
    the e-certificates' JWS (joserfc) another's."""
    users = [
        f"{path.relative_to(ROOT)} imports {module}"
        for package in present(LAYERS)
        for path in sources(package)
        for module in imports_of(path)
        if module.split(".")[0] in ("authlib", "joserfc")
    ]
    assert users
    allowed = ("integrations/identity/", "integrations/certificates/")
    assert all(u.startswith(allowed) for u in users), users


def test_the_rule_reads_what_it_must() -> None:
    """The reader itself: relative imports, `from pkg import module`, and imports in functions."""
    app = set(imports_of(ROOT / "api" / "app.py"))
    assert {"adapters.facade", "api.cases", "api.offices"} <= app  # `from api import cases`
    cli = set(imports_of(ROOT / "entry" / "cli.py"))
    assert "entry.demo" in cli  # imported inside a function
    node = ast.parse("from .calendar import WorkingCalendar").body[0]
    assert isinstance(node, ast.ImportFrom)
    assert _base(ROOT / "domain" / "kernel" / "access.py", node) == "domain.kernel.calendar"


def test_an_engine_that_reaches_up_or_into_fhir_is_caught(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The engine's row holds before the package exists here (it comes from another branch)."""
    (tmp_path / "engine").mkdir()
    (tmp_path / "engine" / "__init__.py").write_text("")
    (tmp_path / "engine" / "runner.py").write_text(
        "import sqlite3\nimport psycopg\nfrom eventsourcing.persistence import Tracking\n"
        "from engine import runner\nfrom domain.ledger import CaseLedger\n"
        "from pydantic import BaseModel\nimport starlette\n"
    )
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    assert present(LAYERS) == ["engine"]
    assert list(_offences("engine")) == [
        "engine/runner.py imports domain.ledger",
        "engine/runner.py imports pydantic",
        "engine/runner.py imports starlette",
    ]
