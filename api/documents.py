"""Document routes: a family uploads a file for its case (multipart/form-data, or the raw
bytes with their Content-Type), and downloads its case's files; an office lists and downloads
the files its requests' supplements cite. Everything else is a 404, as for a missing file."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from urllib.parse import quote
from uuid import UUID

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from adapters.facade import (
    ActiveContentError,
    DamagedDocumentError,
    DecompressionBombError,
    DocumentRefusedError,
    DocumentTooComplexError,
    DocumentTooLargeError,
    OpenedFile,
    TypeMismatchError,
    UnsupportedTypeError,
    case_file,
    may_upload,
    request_file,
    request_files,
    upload_document,
)
from api.audit import audited
from api.auth import authenticate
from api.openapi import Operation
from api.problems import ApiError
from api.responses import ORJSONResponse

MULTIPART = "multipart/form-data"
RAW_TYPES = ("application/pdf", "image/jpeg", "image/png")
FORM_OVERHEAD = 16 * 1024  # a multipart body's boundaries and part headers beyond the file
MAX_NAME_BYTES = 1024  # a part's file name, or the ?name= of a raw upload
DOCUMENT_ID = "{document_id}"
# Why an upload is refused → its status (the problem's type names the reason)
REFUSED = (
    (DocumentTooLargeError, 413),
    (UnsupportedTypeError, 415),
    (TypeMismatchError, 422),
    (DecompressionBombError, 422),
    (ActiveContentError, 422),
    (DamagedDocumentError, 422),
    (DocumentTooComplexError, 422),
)
REFUSALS = (
    "413: document-too-large (over NEWBORN_LEDGER_DOCUMENT_MAX_BYTES, refused while read); "
    "415: unsupported-document-type (not a PDF, JPEG or PNG by its content); 422: "
    "document-type-mismatch (the declared type or the name's extension says another "
    "type), decompression-bomb, active-content (a PDF with scripts, launch actions, "
    "embedded files, XFA, actions that submit or fetch data, a link opened by itself), "
    "document-too-complex (a PDF of more objects than the cap, or slower to check than its "
    "time budget), damaged-document. Nothing is stored when refused."
)
OPERATIONS = [
    Operation(
        "/cases/{case_id:uuid}/documents",
        "POST",
        "Family: upload a PDF, JPEG or PNG for the case (multipart/form-data with one file "
        "part, or the raw bytes with their Content-Type and ?name=); answers the evidence "
        "reference a supplement cites",
        roles=("family",),
        body=MULTIPART,
        params=("name",),
        answer="DocumentReference",
        ok=201,
        ok_text="Stored (or already stored for this case): its evidence reference",
        responses={
            400: "The multipart body is malformed, or holds no file part or more than one",
            404: "No such case for this caller",
            413: "The file is over the size limit",
            415: "Not a PDF, JPEG or PNG",
            422: REFUSALS,
            503: "Other uploads are being checked: send it again after Retry-After seconds",
        },
    ),
    Operation(
        f"/cases/{{case_id:uuid}}/documents/{DOCUMENT_ID}",
        "GET",
        "Family: download one of the case's documents",
        roles=("family",),
        media=RAW_TYPES,
        responses={404: "No such document of this case for this caller"},
    ),
    Operation(
        "/service-requests/{service_request_id:uuid}/documents",
        "GET",
        "Office: the documents the request's supplements cite",
        roles=("office",),
        answer="RequestDocuments",
        responses={404: "No such request for this office"},
    ),
    Operation(
        f"/service-requests/{{service_request_id:uuid}}/documents/{DOCUMENT_ID}",
        "GET",
        "Office: download a document a supplement of the request cites",
        roles=("office",),
        media=RAW_TYPES,
        responses={404: "No such document of this request for this office"},
    ),
]


async def upload(request: Request) -> Response:
    principal = await authenticate(request, "family")
    case_id: UUID = request.path_params["case_id"]
    container = request.app.state.container
    # the caller may upload here before a byte of the body is read
    await run_in_threadpool(may_upload, container.ledger, principal, case_id)
    checks = request.app.state.document_checks  # its own threads: reads are never starved
    checks.admit()  # busy: 503 before the body is read
    limit = container.settings.documents.max_bytes
    sent = await _file(request, limit)
    try:
        answer = await checks.run(
            upload_document, container.files, container.ledger, principal, case_id, sent
        )
    except DocumentRefusedError as refused:
        raise _refusal(refused) from None
    location = f"/cases/{case_id}/documents/{answer['id']}"
    return ORJSONResponse(answer, status_code=201, headers={"Location": location})


async def _file(request: Request, limit: int) -> tuple[bytes, str, str]:
    """(bytes, declared type, name) of the one file sent; 413 once more than the limit
    arrived (the rest is not read)."""
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media == MULTIPART:
        return await _form_file(request, limit)
    _refuse_declared_length(request, limit)
    name = request.query_params.get("name", "")[:MAX_NAME_BYTES]
    data = b"".join([chunk async for chunk in _capped(request, limit)])
    return data, request.headers.get("content-type", ""), name


async def _form_file(request: Request, limit: int) -> tuple[bytes, str, str]:
    _refuse_declared_length(request, limit + FORM_OVERHEAD)
    parser = MultiPartParser(
        request.headers,
        _capped(request, limit + FORM_OVERHEAD),
        max_files=1,
        max_fields=2,
        max_part_size=MAX_NAME_BYTES,
    )
    try:
        form = await parser.parse()
    except MultiPartException as exc:
        raise ApiError(400, "invalid-multipart", f"The form is malformed: {exc.message}") from None
    try:
        files = [v for _, v in form.multi_items() if isinstance(v, UploadFile)]
        if len(files) != 1:
            raise ApiError(400, "invalid-multipart", "Send exactly one file part")
        data = await files[0].read()
        return data, files[0].content_type or "", (files[0].filename or "")[:MAX_NAME_BYTES]
    finally:
        await form.close()


def _refuse_declared_length(request: Request, limit: int) -> None:
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > limit:
        raise _too_large(limit)


async def _capped(request: Request, limit: int) -> AsyncGenerator[bytes, None]:
    """The body's chunks, stopped with a 413 once more than `limit` bytes arrived."""
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _too_large(limit)
        yield chunk


def _too_large(limit: int) -> ApiError:
    return ApiError(413, "document-too-large", f"The upload is over {limit} bytes", max_bytes=limit)


def _refusal(refused: DocumentRefusedError) -> ApiError:
    status = next((s for cls, s in REFUSED if isinstance(refused, cls)), 422)
    return ApiError(status, refused.code, refused.detail, **refused.context)


async def case_download(request: Request) -> Response:
    principal = await authenticate(request, "family")
    container = request.app.state.container
    found = await run_in_threadpool(
        case_file,
        container.files,
        principal,
        request.path_params["case_id"],
        request.path_params["document_id"],
    )
    await audited(request, principal, "document", found.case_id, found.document_id)
    return _download(found)


async def listing(request: Request) -> Response:
    principal = await authenticate(request, "office")
    container = request.app.state.container
    request_id: UUID = request.path_params["service_request_id"]
    case_id, found = await run_in_threadpool(
        request_files, container.files, container.ledger, principal, request_id
    )
    # the files' names may be personal data: the listing is a read of the request's documents
    await audited(request, principal, "document", case_id, str(request_id))
    return ORJSONResponse({"service_request_id": str(request_id), "documents": found})


async def request_download(request: Request) -> Response:
    principal = await authenticate(request, "office")
    container = request.app.state.container
    found = await run_in_threadpool(
        request_file,
        container.files,
        container.ledger,
        principal,
        request.path_params["service_request_id"],
        request.path_params["document_id"],
    )
    await audited(request, principal, "document", found.case_id, found.document_id)
    return _download(found)


def _download(found: OpenedFile) -> Response:
    """The file as an attachment, of the type its content check found, never sniffed."""
    fallback = "document." + found.media_type.rsplit("/", 1)[1].replace("jpeg", "jpg")
    disposition = f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(found.name)}"
    headers = {
        "Content-Disposition": disposition,
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "no-store",
        "Content-Security-Policy": "default-src 'none'; sandbox",
    }
    return Response(found.content, media_type=found.media_type, headers=headers)


ROUTES = [
    Route("/cases/{case_id:uuid}/documents", upload, methods=["POST"]),
    Route(f"/cases/{{case_id:uuid}}/documents/{DOCUMENT_ID}", case_download, methods=["GET"]),
    Route("/service-requests/{service_request_id:uuid}/documents", listing, methods=["GET"]),
    Route(
        f"/service-requests/{{service_request_id:uuid}}/documents/{DOCUMENT_ID}",
        request_download,
        methods=["GET"],
    ),
]
