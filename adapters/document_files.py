"""Families' documents: checked by content (integrations/documents/content.py), kept under
a keyed hash of their bytes and encrypted with the store's cipher when a key is set; and who
may upload, list and download them.

A document's id is "doc:" + HMAC-SHA256 of its bytes under a key derived from the cipher key
(plain SHA-256 without one), so nobody can confirm that a file is stored by hashing a guess.
Its name and plain SHA-256 are kept in the row's sealed `meta`, its bytes in the sealed
`content`; each sealed value holds its row's case, document and column, checked when it is
opened, so a value swapped or copied between rows at rest is an error, not another file. A
case's family (or an admin) uploads; the family reads its case's documents; an
office reads those its requests' supplements cite (ServiceRequest.documents). Everything
else is exactly a missing document (404)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import orjson
from eventsourcing.persistence import Cipher

from adapters.file_stores import file_store
from adapters.keys import rotating_cipher
from adapters.settings import Settings
from domain.kernel.access import OutOfScopeError, foreign_case, may_act, office_may_see
from domain.kernel.actors import Principal
from domain.kernel.commands import EvidenceRef
from domain.kernel.errors import ServiceRequestNotFoundError
from domain.kernel.service_request import ServiceRequest
from domain.ledger import CaseLedger
from integrations.documents.content import check_content
from integrations.documents.errors import SealedFileMismatchError
from integrations.documents.limits import ContentLimits
from integrations.documents.store import FileStore, StoredFile

ID_LABEL = b"newborn-ledger/document-id/v1"
SEAL_LABEL = b"newborn-ledger/sealed-file/v1|"  # then case|document|column, a newline, the bytes
PREFIX = "doc:"
MAX_NAME = 200  # characters of a file name kept
# A kept name always ends in its checked type's extension, never the sender's (.hta, .html)
EXTENSION = {"application/pdf": ".pdf", "image/jpeg": ".jpg", "image/png": ".png"}


@dataclass(frozen=True)
class OpenedFile:
    """A document to send: its case, its checked type, its name and its bytes."""

    case_id: str
    document_id: str
    media_type: str
    name: str
    content: bytes


class DocumentFiles:
    """The uploaded files of every case, on one FileStore."""

    def __init__(
        self,
        store: FileStore,
        limits: ContentLimits,
        cipher: Cipher | None = None,
        id_key: bytes | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store, self.limits, self.cipher = store, limits, cipher
        self.id_key, self.clock = id_key, clock

    def document_id(self, data: bytes) -> str:
        if self.id_key is None:
            return PREFIX + hashlib.sha256(data).hexdigest()
        return PREFIX + hmac.new(self.id_key, data, hashlib.sha256).hexdigest()

    def upload(self, case_id: UUID, data: bytes, declared: str, name: str) -> dict[str, Any]:
        """Check the file (DocumentRefusedError: nothing kept), keep it once per case, and
        answer its evidence reference."""
        media_type = check_content(data, declared, name, self.limits)
        name = kept_name(name, media_type)
        digest = hashlib.sha256(data).hexdigest()
        meta = orjson.dumps({"name": name, "sha256": digest})
        key = (str(case_id), self.document_id(data))
        row = StoredFile(
            *key,
            media_type,
            len(data),
            self._seal(meta, key, "meta"),
            self._seal(data, key, "content"),
            self.clock(),
        )
        if not self.store.put(row):  # the case has it already: answer what was kept
            return self.describe(case_id, [row.document_id])[0]
        return _reference(row, name, digest)

    def describe(self, case_id: UUID, document_ids: list[str]) -> list[dict[str, Any]]:
        """The evidence references of the case's documents among `document_ids`."""
        found = self.store.described(str(case_id), document_ids)
        return [_reference(row, *self._meta(row)) for row in found]

    def open(self, case_id: UUID, document_id: str) -> OpenedFile | None:
        row = self.store.get(str(case_id), document_id)
        if row is None:
            return None
        name, _ = self._meta(row)
        content = self._open(row, "content")
        return OpenedFile(row.case_id, row.document_id, row.media_type, name, content)

    def unknown(self, case_id: UUID, refs: tuple[EvidenceRef, ...]) -> list[str]:
        """The uploaded documents (ids "doc:...") among `refs` the case does not have, or
        has with another SHA-256 than the reference gives."""
        cited = [ref for ref in refs if ref.id.startswith(PREFIX)]
        known = {d["id"]: d["sha256"] for d in self.describe(case_id, [r.id for r in cited])}
        return [
            ref.id
            for ref in cited
            if ref.id not in known or (ref.sha256 and ref.sha256 != known[ref.id])
        ]

    def close(self) -> None:
        self.store.close()

    def _meta(self, row: StoredFile) -> tuple[str, str]:
        meta = orjson.loads(self._open(row, "meta"))
        return kept_name(str(meta["name"]), row.media_type), str(meta["sha256"])

    def _seal(self, plain: bytes, key: tuple[str, str], column: str) -> bytes:
        """`plain` encrypted with the row it belongs to inside: a sealed value copied to
        another row, or column, does not open there (SealedFileMismatchError)."""
        if self.cipher is None:
            return plain
        return self.cipher.encrypt(_bound(key, column) + plain)

    def _open(self, row: StoredFile, column: str) -> bytes:
        stored: bytes = getattr(row, column)
        if self.cipher is None:
            return stored
        plain = self.cipher.decrypt(stored)
        bound = _bound((row.case_id, row.document_id), column)
        if not plain.startswith(bound):
            raise SealedFileMismatchError(
                f"The stored {column} of document {row.document_id} of case {row.case_id} "
                "was sealed for another row: the row was swapped or copied at rest"
            )
        return plain[len(bound) :]


def _bound(key: tuple[str, str], column: str) -> bytes:
    """What a sealed value starts with: the label, its case, document and column."""
    case_id, document_id = key
    return SEAL_LABEL + f"{case_id}|{document_id}|{column}\n".encode()


def _reference(row: StoredFile, name: str, digest: str) -> dict[str, Any]:
    return {
        "id": row.document_id,
        "sha256": digest,
        "type": row.media_type,
        "size": row.size,
        "name": name,
    }


def clean_name(name: str) -> str:
    """A file name as kept and shown: its last path part, without control characters,
    at most MAX_NAME characters ("document" when nothing is left)."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    kept = "".join(c for c in base if unicodedata.category(c)[0] != "C").strip()
    return kept[:MAX_NAME] or "document"


def kept_name(name: str, media_type: str) -> str:
    """The name kept, shown and served: the sent name's stem (clean_name, without its
    extension) and the extension of the type the content check found, so a download is
    never saved as another type than it was checked as ("出生证明.hta" → "出生证明.png")."""
    cleaned = clean_name(name)
    stem = cleaned.rsplit(".", 1)[0] if "." in cleaned else cleaned
    stem = stem.rstrip(". ")[: MAX_NAME - 4] or "document"
    return stem + EXTENSION[media_type]


def document_files(settings: Settings) -> DocumentFiles:
    """The documents on the configured store, sealed with the store's cipher when set."""
    cipher = rotating_cipher(settings.cipher_key, settings.old_cipher_keys)
    id_key = None
    if settings.cipher_key:
        key = base64.b64decode(settings.cipher_key)
        id_key = hmac.new(key, ID_LABEL, hashlib.sha256).digest()
    return DocumentFiles(file_store(settings), settings.documents, cipher, id_key)


def upload_document(
    files: DocumentFiles,
    ledger: CaseLedger,
    principal: Principal,
    case_id: UUID,
    upload: tuple[bytes, str, str],
) -> dict[str, Any]:
    """The family of the case (or an admin) uploads `upload` (bytes, declared type, name)."""
    may_upload(ledger, principal, case_id)
    data, declared, name = upload
    return files.upload(case_id, data, declared, name)


def may_upload(ledger: CaseLedger, principal: Principal, case_id: UUID) -> None:
    """Raises out of scope unless the caller is the case's family or an admin, and the case
    exists (checked before the body is read)."""
    if principal.role not in ("family", "admin") or foreign_case(principal, case_id):
        raise OutOfScopeError()
    ledger.get_case(case_id)


def case_file(
    files: DocumentFiles, principal: Principal, case_id: UUID, document_id: str
) -> OpenedFile:
    """A document of the case, for its family or an admin."""
    if principal.role not in ("family", "admin") or foreign_case(principal, case_id):
        raise OutOfScopeError()
    return files.open(case_id, document_id) or _missing()


def request_files(
    files: DocumentFiles, ledger: CaseLedger, principal: Principal, request_id: UUID
) -> tuple[UUID, list[dict[str, Any]]]:
    """The request's case, and the documents its supplements cite, for an office that sees
    it (or an admin)."""
    request = _seen_request(ledger, principal, request_id)
    return request.case_id, files.describe(request.case_id, list(request.documents))


def request_file(
    files: DocumentFiles,
    ledger: CaseLedger,
    principal: Principal,
    request_id: UUID,
    document_id: str,
) -> OpenedFile:
    """One document a supplement of the request cites, for an office that sees it."""
    request = _seen_request(ledger, principal, request_id)
    if document_id not in request.documents:
        raise OutOfScopeError()
    return files.open(request.case_id, document_id) or _missing()


def unknown_evidence(
    files: DocumentFiles,
    ledger: CaseLedger,
    principal: Principal,
    request_id: UUID,
    refs: tuple[EvidenceRef, ...],
) -> list[str]:
    """The uploaded documents a supplement of the request cites that its case does not have
    (none for a caller who may not supplement it: the step itself answers 404)."""
    if not any(ref.id.startswith(PREFIX) for ref in refs):
        return []
    try:
        request = ledger.get_request(request_id)
    except ServiceRequestNotFoundError:
        return []
    if not may_act(principal, request, "supplement"):
        return []
    return files.unknown(request.case_id, refs)


def _seen_request(ledger: CaseLedger, principal: Principal, request_id: UUID) -> ServiceRequest:
    try:
        request = ledger.get_request(request_id)
    except ServiceRequestNotFoundError:
        raise OutOfScopeError() from None
    if principal.role == "admin":
        return request
    if principal.role != "office" or not office_may_see(principal, request):
        raise OutOfScopeError()
    return request


def _missing() -> OpenedFile:
    raise OutOfScopeError()
