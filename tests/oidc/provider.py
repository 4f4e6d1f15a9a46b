"""A real OpenID Connect provider for the tests: node's `oidc-provider` (tests/oidc/
package.json, pinned with package-lock.json) run by provider.mjs on a free port.

Node and npm must be installed (.ci/run installs them); `npm ci` runs here when
node_modules is missing. Without node or npm the tests that need the provider skip on a
user's machine and fail under CI=true (.ci/run installs both and fails if they skipped)."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urljoin

import httpx
import pytest

HERE = Path(__file__).resolve().parent
CLIENT_ID = "newborn-ledger"
CLIENT_SECRET = "test-only-client-secret-0123456789"  # the test provider's only
_install_lock = threading.Lock()


@dataclass(frozen=True)
class Account:
    login: str
    password: str
    sub: str


CLERK = Account("clerk.wang", "correct horse battery staple", "idp-sub-7f3a9c1e")
STRANGER = Account("visitor.li", "another good passphrase", "idp-sub-unprovisioned")


@dataclass
class Provider:
    issuer: str
    redirect_uri: str
    accounts: tuple[Account, ...]
    log: Path
    env: dict[str, str] = field(default_factory=dict)

    def ledger_env(self) -> dict[str, str]:
        """The ledger's NEWBORN_LEDGER_OIDC_* for this provider."""
        return {
            "NEWBORN_LEDGER_OIDC_ISSUER": self.issuer,
            "NEWBORN_LEDGER_OIDC_CLIENT_ID": CLIENT_ID,
            "NEWBORN_LEDGER_OIDC_CLIENT_SECRET": CLIENT_SECRET,
            "NEWBORN_LEDGER_OIDC_REDIRECT_URI": self.redirect_uri,
        }


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _missing(tool: str) -> BaseException:
    """A user's machine without node skips the OIDC tests with the reason; under CI=true
    (.ci/run installs nodejs and npm) they fail, so CI never passes with them skipped."""
    message = f"{tool} is not installed: the OIDC tests need Node.js 18+ and npm (tests/oidc)"
    if os.environ.get("CI") == "true":
        return pytest.fail.Exception(message, pytrace=False)
    return pytest.skip.Exception(message)


def node() -> str:
    found = shutil.which("node")
    if not found:
        raise _missing("node")
    return found


def ensure_installed() -> None:
    """`npm ci` from the lock file when tests/oidc/node_modules is missing."""
    with _install_lock:
        if (HERE / "node_modules" / "oidc-provider" / "package.json").is_file():
            return
        npm = shutil.which("npm")
        if not npm:
            raise _missing("npm")
        done = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund"],
            cwd=HERE,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert done.returncode == 0, f"npm ci failed in {HERE}:\n{done.stdout}\n{done.stderr}"


@contextmanager
def running_provider(
    redirect_uri: str,
    home: Path,
    accounts: tuple[Account, ...] = (CLERK, STRANGER),
    port: int | None = None,
) -> Iterator[Provider]:
    """The provider on `port` (else a free one) until the block ends; its output goes to
    home/oidc.log. Each start signs with a new key under a new key id."""
    ensure_installed()
    port = port or free_port()
    env = {
        **os.environ,
        "OIDC_PORT": str(port),
        "OIDC_CLIENT_ID": CLIENT_ID,
        "OIDC_CLIENT_SECRET": CLIENT_SECRET,
        "OIDC_REDIRECT_URI": redirect_uri,
        "OIDC_ACCOUNTS": json.dumps([a.__dict__ for a in accounts]),
    }
    log = home / f"oidc-{port}-{time.monotonic_ns()}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [node(), str(HERE / "provider.mjs")], cwd=HERE, env=env, stdout=out, stderr=out
        )
    try:
        issuer = _wait_ready(process, log)
        yield Provider(issuer, redirect_uri, accounts, log, env)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_ready(process: subprocess.Popen[bytes], log: Path, timeout_s: float = 30.0) -> str:
    """The issuer the provider printed on its `ready` line (fails if it exits first)."""
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        if found := re.search(r"^ready (\S+)$", log.read_text(errors="replace"), re.MULTILINE):
            return found.group(1)
        assert process.poll() is None, f"the OIDC provider exited:\n{log.read_text()}"
        time.sleep(0.05)
    raise AssertionError(f"the OIDC provider did not start in {timeout_s}s:\n{log.read_text()}")


def sign_in_at_provider(
    authorization_url: str, account: Account, *, password: str | None = None, abort: bool = False
) -> str:
    """What a person does at the provider, over HTTP: open the authorization URL, fill in the
    login form (or cancel), follow the provider's redirects. The URL it sends the browser
    back to (the ledger's callback with code and state, or with an error); "" when the
    provider shows its form again (a wrong password)."""
    with httpx.Client(timeout=10.0) as browser:
        interaction = _follow(browser, browser.get(authorization_url))
        assert "/interaction/" in interaction, interaction
        assert 'name="password"' in browser.get(interaction).text
        if abort:
            response = browser.post(interaction + "/abort")
        else:
            body = {"login": account.login, "password": password or account.password}
            response = browser.post(interaction + "/login", data=body)
        if response.status_code == 200:
            assert "Wrong login or password" in response.text, response.text
            return ""
        return _follow(browser, response)


def _follow(browser: httpx.Client, response: httpx.Response) -> str:
    """Follow the provider's own redirects; the first Location that leaves it."""
    origin = f"{response.request.url.scheme}://{response.request.url.netloc.decode()}"
    for _ in range(10):
        location = response.headers.get("location")
        assert response.is_redirect, f"{response.status_code}: {response.text}"
        assert location, "a redirect without a Location"
        absolute: str = urljoin(str(response.request.url), location)
        if not absolute.startswith(origin) or "/interaction/" in absolute:
            return absolute
        response = browser.get(absolute)
    raise AssertionError("too many redirects at the provider")
