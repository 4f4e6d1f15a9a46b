"""Every problem code the code base can answer, found by walking its source (ast)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("api", "adapters", "domain", "engine", "entry", "integrations", "projections")
# Calls whose argument at this index is a problem code.
CODE_ARGUMENT = {"ApiError": 1, "problem": 1, "ProviderSignInError": 0}
# Call sites whose code is not a literal, each with where its codes come from (found below).
INDIRECT = {
    ("api/problems.py", "domain_error"): "the DomainError subclasses' `code`",
    ("api/problems.py", "api_error"): "every ApiError call site",
    ("api/problems.py", "http_error"): "HTTP_CODES in api/problems.py",
    ("api/documents.py", "_refusal"): "DocumentRefusedError subclasses' `code`",
    ("api/oidc.py", "answer"): "api/oidc.py STATUS keys and the SignInRefusedError reasons",
}


def sources() -> list[Path]:
    return sorted(p for package in PACKAGES for p in (ROOT / package).rglob("*.py"))


def _callee(node: ast.Call) -> str | None:
    if isinstance(node.func, ast.Name):
        return node.func.id
    if isinstance(node.func, ast.Attribute):
        return node.func.attr
    return None


def _literals(node: ast.expr | None) -> set[str] | None:
    """The strings an expression can be: a literal, or either branch of `a if c else b`."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return {node.value}
    if isinstance(node, ast.IfExp):
        body, orelse = _literals(node.body), _literals(node.orelse)
        return None if body is None or orelse is None else body | orelse
    return None


class _Walker(ast.NodeVisitor):
    def __init__(self, path: str) -> None:
        self.path, self.function = path, "<module>"
        self.codes: set[str] = set()
        self.indirect: set[tuple[str, str]] = set()

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        self._within(node)

    def visit_AsyncFunctionDef(self, node: ast.AsyncFunctionDef) -> None:
        self._within(node)

    def _within(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        outer, self.function = self.function, node.name
        self.generic_visit(node)
        self.function = outer

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        for statement in node.body:  # `code = "..."` of an error class
            if isinstance(statement, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == "code" for t in statement.targets
            ):
                self.codes |= _literals(statement.value) or set()
        self.generic_visit(node)

    def visit_Assign(self, node: ast.Assign) -> None:
        names = {t.id for t in node.targets if isinstance(t, ast.Name)}
        if names & {"HTTP_CODES", "STATUS"} and isinstance(node.value, ast.Dict):
            for key, value in zip(node.value.keys, node.value.values, strict=True):
                for item in (key, value):  # {reason: status} or {status: code}
                    self.codes |= _literals(item) or set()
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        name = _callee(node)
        if name == "SignInRefusedError":  # its reason is the code of the OIDC refusal
            reason = node.args[1] if len(node.args) > 1 else None
            reason = next((k.value for k in node.keywords if k.arg == "reason"), reason)
            self.codes |= _literals(reason) or set()
        index = CODE_ARGUMENT.get(name or "")
        if name == "problem" and not self.path.startswith("api/"):
            index = None  # another function of that name (adapters/store_keys.py)
        if index is not None and len(node.args) > index:
            codes = _literals(node.args[index])
            if codes is not None:
                self.codes |= codes
            else:
                self.indirect.add((self.path, self.function))
        self.generic_visit(node)


def walk() -> tuple[set[str], set[tuple[str, str]]]:
    """The codes found, and the call sites whose code is not a literal."""
    codes: set[str] = set()
    indirect: set[tuple[str, str]] = set()
    for path in sources():
        walker = _Walker(str(path.relative_to(ROOT)))
        walker.visit(ast.parse(path.read_text(encoding="utf-8")))
        codes |= walker.codes
        indirect |= walker.indirect
    return codes, indirect
