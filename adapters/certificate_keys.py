"""The e-certificates' signing keys: Ed25519, one series per issuing office (province +
authority), in a side store (SQLite file certificate_keys.sqlite, a PostgreSQL table, or
memory for unit tests); the private halves encrypted with the store's cipher when a key is set.

A series starts with generation 1, made on first need. A rotation adds the next generation,
which signs from then on, and marks the earlier ones retired (with the time): they stay in the
store and in the JWKS, so the certificates they signed keep verifying and are re-issued
byte for byte (Ed25519 is deterministic). The key of a certificate is the one in force at its
decision's time: the newest generation made at or before it (the first for a decision made
before its series began).

A compromised key is withdrawn (`SigningKeys.withdraw`, `newborn-ledger keys withdraw`): the
withdrawal is stored beside the keys (who, why: encrypted with the store's cipher like the
private keys; which key and when in clear), the key leaves the JWKS (RFC 7517 has no member
that marks a key untrusted, so a key set that still listed it would tell an independent
verifier to trust its signatures), and what it signed verifies `invalid`, `key-withdrawn`. If
it was the office's signing key, a new generation takes over at once. Certificates are
derived from the ledger and signed when read: one whose decision's key is withdrawn is signed
by the office's current key instead, so the family reading its certificates again gets one
that verifies. That is honest because nothing the withdrawn key signed is trusted or copied:
the new signature is made now, by a key the ledger holds safely, over the claims the ledger
derives from its own record, the same claims the certificate always stated (its id, `iat` the
decision's time, unchanged). A copy printed with the old signature stays invalid: the family
prints it again."""

from __future__ import annotations

import base64
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import astuple, dataclass, fields, replace
from typing import Any

import orjson
from eventsourcing.persistence import Cipher
from eventsourcing.postgres import PostgresDatastore

from adapters import pool
from adapters.delivery_sql import Tx
from adapters.delivery_stores import _PostgresTx, _SQLiteTx
from adapters.keys import rotating_cipher
from adapters.settings import Settings
from adapters.side_stores import SideStore, SQLiteFile
from domain.kernel.certificates import issuer
from integrations.certificates import jose
from integrations.certificates.jose import ALG, PrivateKey

SQLITE_FILE = "certificate_keys.sqlite"


@dataclass(frozen=True)
class KeyRow:
    kid: str  # the RFC 7638 thumbprint of the public key
    issuer: str
    generation: int
    public_jwk: str  # JSON
    private_key: str  # base64 of the private JWK's JSON, encrypted when `sealed`
    sealed: int  # 1: encrypted with the store's cipher
    created_at: float  # epoch seconds: signs certificates decided from then on
    retired_at: float | None  # a later generation took over then

    def __repr__(self) -> str:  # never the private half in a log
        return f"KeyRow(kid={self.kid!r}, issuer={self.issuer!r}, generation={self.generation})"

    def public(self) -> dict[str, Any]:
        """The JWKS entry: the public key with its id, algorithm and use."""
        jwk: dict[str, Any] = orjson.loads(self.public_jwk)
        return {**jwk, "kid": self.kid, "alg": ALG, "use": "sig"}


@dataclass(frozen=True)
class Withdrawal:
    """A key withdrawn: which, of which office, when; `record` the base64 of {"reason", "by"}
    as JSON, encrypted with the store's cipher when `sealed`."""

    kid: str
    issuer: str
    withdrawn_at: float  # epoch seconds
    record: str
    sealed: int

    def __repr__(self) -> str:  # the reason and who stay out of logs
        return f"Withdrawal(kid={self.kid!r}, issuer={self.issuer!r})"


COLUMNS = tuple(f.name for f in fields(KeyRow))
WITHDRAWAL_COLUMNS = tuple(f.name for f in fields(Withdrawal))
DDL = (
    "CREATE TABLE IF NOT EXISTS {keys} (kid TEXT PRIMARY KEY, issuer TEXT NOT NULL, "
    "generation INTEGER NOT NULL, public_jwk TEXT NOT NULL, private_key TEXT NOT NULL, "
    "sealed INTEGER NOT NULL, created_at DOUBLE PRECISION NOT NULL, "
    "retired_at DOUBLE PRECISION, UNIQUE (issuer, generation))",
    "CREATE TABLE IF NOT EXISTS {withdrawals} (kid TEXT PRIMARY KEY, issuer TEXT NOT NULL, "
    "withdrawn_at DOUBLE PRECISION NOT NULL, record TEXT NOT NULL, sealed INTEGER NOT NULL)",
)
SQL = {
    "add": f"INSERT INTO {{keys}} ({', '.join(COLUMNS)}) VALUES "
    f"({', '.join('%s' for _ in COLUMNS)}) ON CONFLICT DO NOTHING",
    "retire": "UPDATE {keys} SET retired_at = %s WHERE issuer = %s AND retired_at IS NULL "
    "AND generation < %s",
    "all": f"SELECT {', '.join(COLUMNS)} FROM {{keys}} ORDER BY issuer, generation",
    "of": f"SELECT {', '.join(COLUMNS)} FROM {{keys}} WHERE issuer = %s ORDER BY generation",
    "kid": f"SELECT {', '.join(COLUMNS)} FROM {{keys}} WHERE kid = %s",
    "withdraw": f"INSERT INTO {{withdrawals}} ({', '.join(WITHDRAWAL_COLUMNS)}) VALUES "
    f"({', '.join('%s' for _ in WITHDRAWAL_COLUMNS)}) ON CONFLICT DO NOTHING",
    "withdrawals": f"SELECT {', '.join(WITHDRAWAL_COLUMNS)} FROM {{withdrawals}} "
    "ORDER BY withdrawn_at, kid",
}


class KeyStore:
    """The key rows over SQL; a backend gives `_tx` and the table's name."""

    def __init__(self, table: str, withdrawals: str) -> None:
        names = {"keys": table, "withdrawals": withdrawals}
        self.sql = {k: self._dialect(v.format(**names)) for k, v in SQL.items()}
        self.ddl = [self._dialect(d.format(**names)) for d in DDL]

    def _dialect(self, sql: str) -> str:
        return sql

    @contextmanager
    def _tx(self, write: bool = True) -> Iterator[Tx]:
        raise NotImplementedError
        yield

    def _create_tables(self) -> None:
        with self._tx() as tx:
            for ddl in self.ddl:
                tx.run(ddl)

    def add(self, row: KeyRow) -> bool:
        """Store the next generation, retiring the earlier ones; False when another process
        stored this generation first (nothing changed)."""
        with self._tx() as tx:
            if not tx.run(self.sql["add"], astuple(row)):
                return False
            tx.run(self.sql["retire"], (row.created_at, row.issuer, row.generation))
            return True

    def rows(self, of_issuer: str | None = None) -> list[KeyRow]:
        with self._tx(write=False) as tx:
            found = (
                tx.rows(self.sql["all"])
                if of_issuer is None
                else tx.rows(self.sql["of"], (of_issuer,))
            )
        return [KeyRow(**r) for r in found]

    def get(self, kid: str) -> KeyRow | None:
        with self._tx(write=False) as tx:
            found = tx.rows(self.sql["kid"], (kid,))
        return KeyRow(**found[0]) if found else None

    def withdraw(self, withdrawal: Withdrawal) -> bool:
        """Record a key's withdrawal; False when it was withdrawn already (nothing changed)."""
        with self._tx() as tx:
            return bool(tx.run(self.sql["withdraw"], astuple(withdrawal)))

    def withdrawals(self) -> list[Withdrawal]:
        with self._tx(write=False) as tx:
            found = tx.rows(self.sql["withdrawals"])
        return [Withdrawal(**r) for r in found]

    def close(self) -> None:
        pass


class SQLiteKeyStore(KeyStore):
    def __init__(self, path: str) -> None:
        super().__init__("certificate_keys", "certificate_key_withdrawals")
        self._file = SQLiteFile(path)
        self._create_tables()

    def _dialect(self, sql: str) -> str:
        return sql.replace("%s", "?")

    @contextmanager
    def _tx(self, write: bool = True) -> Iterator[Tx]:
        with self._file.transaction(write) as conn:
            yield _SQLiteTx(conn)

    def close(self) -> None:
        self._file.close()


class PostgresKeyStore(KeyStore):
    def __init__(self, datastore: PostgresDatastore, *, create_tables: bool = True) -> None:
        schema = f'"{datastore.schema or "public"}"'
        super().__init__(f"{schema}.certificate_keys", f"{schema}.certificate_key_withdrawals")
        self.datastore, self._released = datastore, False
        if create_tables:
            self._create_tables()

    @contextmanager
    def _tx(self, write: bool = True) -> Iterator[Tx]:
        with self.datastore.transaction(commit=write) as curs:
            yield _PostgresTx(curs)

    def close(self) -> None:
        if not self._released:
            self._released = True
            pool.release(self.datastore)


class InMemoryKeyStore(KeyStore):
    def __init__(self) -> None:
        self._rows: dict[str, KeyRow] = {}
        self._withdrawals: dict[str, Withdrawal] = {}
        self._lock = threading.Lock()

    def add(self, row: KeyRow) -> bool:
        with self._lock:
            if any(
                (r.issuer, r.generation) == (row.issuer, row.generation)
                for r in self._rows.values()
            ):
                return False
            for kid, old in list(self._rows.items()):
                if old.issuer == row.issuer and old.retired_at is None:
                    self._rows[kid] = replace(old, retired_at=row.created_at)
            self._rows[row.kid] = row
            return True

    def rows(self, of_issuer: str | None = None) -> list[KeyRow]:
        with self._lock:
            found = [r for r in self._rows.values() if of_issuer in (None, r.issuer)]
        return sorted(found, key=lambda r: (r.issuer, r.generation))

    def get(self, kid: str) -> KeyRow | None:
        with self._lock:
            return self._rows.get(kid)

    def withdraw(self, withdrawal: Withdrawal) -> bool:
        with self._lock:
            if withdrawal.kid in self._withdrawals:
                return False
            self._withdrawals[withdrawal.kid] = withdrawal
            return True

    def withdrawals(self) -> list[Withdrawal]:
        with self._lock:
            return sorted(self._withdrawals.values(), key=lambda w: (w.withdrawn_at, w.kid))


KEY_STORES = SideStore[KeyStore](
    SQLITE_FILE,
    SQLiteKeyStore,
    lambda datastore, create: PostgresKeyStore(datastore, create_tables=create),
    InMemoryKeyStore,
)


class SigningKeys:
    """The offices' keys: made on first need, rotated on an operator's command, found by
    kid for verification; private keys decrypted once per process (a kid never changes)."""

    def __init__(
        self, store: KeyStore, cipher: Cipher | None, clock: Callable[[], float] = time.time
    ) -> None:
        self.store, self.cipher, self.clock = store, cipher, clock
        self._private: dict[str, PrivateKey] = {}
        self._lock = threading.Lock()

    def signing_key(self, province: str, authority: str, at: float) -> tuple[str, PrivateKey]:
        """(kid, private key) of the office's key in force at `at` (made if it has none);
        the office's current key instead when that one is withdrawn (the module's doc)."""
        series = self.store.rows(issuer(province, authority)) or self._first(province, authority)
        earlier = [row for row in series if row.created_at <= at]
        row = earlier[-1] if earlier else series[0]
        withdrawn = self.withdrawn()
        if row.kid in withdrawn:
            row = self._current(province, authority, series, withdrawn)
        return row.kid, self._unsealed(row)

    def _current(
        self, province: str, authority: str, series: list[KeyRow], withdrawn: set[str]
    ) -> KeyRow:
        """The office's newest key, a new generation first if that one is withdrawn (the
        withdrawal's own rotation had not run yet, or failed: another process's may win)."""
        while series[-1].kid in withdrawn:
            self.store.add(self._new_row(series[-1].issuer, len(series) + 1))
            series = self.store.rows(issuer(province, authority))
        return series[-1]

    def _first(self, province: str, authority: str) -> list[KeyRow]:
        self.store.add(self._new_row(issuer(province, authority), 1))  # or another's first
        return self.store.rows(issuer(province, authority))

    def rotate(self, province: str, authority: str) -> KeyRow:
        """A new generation that signs from now on; the earlier ones are retired, kept."""
        series = self.store.rows(issuer(province, authority))
        row = self._new_row(issuer(province, authority), len(series) + 1)
        if not self.store.add(row):
            raise RuntimeError("Another rotation of this office's key ran at the same time")
        return row

    def withdraw(
        self, province: str, authority: str, reason: str, by: str, kid: str | None = None
    ) -> tuple[Withdrawal, KeyRow | None]:
        """Withdraw a compromised key of the office (its signing key unless `kid` names
        another of its keys): recorded first, so that nothing is signed with it from then
        on, then a new generation when it was the one signing. Returns the withdrawal and the
        new key (None when a retired key was withdrawn). KeyError: no such key of the office;
        ValueError: already withdrawn."""
        office = issuer(province, authority)
        series = self.store.rows(office)
        if not series:
            raise KeyError(f"{office} has no key to withdraw")
        withdrawn = self.withdrawn()
        kid = kid or series[-1].kid
        target = next((row for row in series if row.kid == kid), None)
        if target is None:
            raise KeyError(f"{office} has no key {kid}")
        record = orjson.dumps({"reason": reason, "by": by})
        if self.cipher is not None:
            record = self.cipher.encrypt(record)
        withdrawal = Withdrawal(
            kid=kid,
            issuer=office,
            withdrawn_at=self.clock(),
            record=base64.b64encode(record).decode(),
            sealed=int(self.cipher is not None),
        )
        if not self.store.withdraw(withdrawal):
            raise ValueError(f"The key {kid} of {office} is withdrawn already")
        if target.kid != series[-1].kid:
            return withdrawal, None
        return withdrawal, self._current(province, authority, series, {*withdrawn, kid})

    def withdrawn(self) -> set[str]:
        """The kids withdrawn (read from the store each time: another process may withdraw)."""
        return {w.kid for w in self.store.withdrawals()}

    def withdrawal_record(self, withdrawal: Withdrawal) -> dict[str, str]:
        """Why a key was withdrawn and by whom, decrypted (for an operator's list)."""
        stored = base64.b64decode(withdrawal.record)
        if withdrawal.sealed:
            if self.cipher is None:
                raise RuntimeError("The withdrawals are encrypted: set the store's cipher key")
            stored = self.cipher.decrypt(stored)
        found: dict[str, str] = orjson.loads(stored)
        return found

    def public_key(self, kid: str) -> KeyRow | None:
        return self.store.get(kid)

    def jwks(self) -> dict[str, Any]:
        """Every office's keys but the withdrawn (retired ones stay: what they signed holds)."""
        withdrawn = self.withdrawn()
        return {"keys": [row.public() for row in self.store.rows() if row.kid not in withdrawn]}

    def _new_row(self, office: str, generation: int) -> KeyRow:
        kid, public, private = jose.generate()
        if self.cipher is not None:
            private = self.cipher.encrypt(private)
        return KeyRow(
            kid=kid,
            issuer=office,
            generation=generation,
            public_jwk=orjson.dumps(public).decode(),
            private_key=base64.b64encode(private).decode(),
            sealed=int(self.cipher is not None),
            created_at=self.clock(),
            retired_at=None,
        )

    def _unsealed(self, row: KeyRow) -> PrivateKey:
        with self._lock:
            if (key := self._private.get(row.kid)) is not None:
                return key
        stored = base64.b64decode(row.private_key)
        if row.sealed:
            if self.cipher is None:
                raise RuntimeError("The signing keys are encrypted: set the store's cipher key")
            stored = self.cipher.decrypt(stored)
        key = jose.load_private(stored)
        with self._lock:
            self._private[row.kid] = key
        return key

    def close(self) -> None:
        self.store.close()


def signing_keys(settings: Settings) -> SigningKeys:
    """The keys on the configured store, sealed with its cipher when a key is set."""
    cipher = rotating_cipher(settings.cipher_key, settings.old_cipher_keys)
    return SigningKeys(KEY_STORES.open(settings), cipher)
