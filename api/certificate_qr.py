"""A certificate's QR code: the compact certificate (the JWS a verifier posts to /verify) drawn
as SVG on the server by segno, for the family's page and its print view.

Error correction level M (about 15% of the symbol can be lost): a certificate of about 1,300
characters is a version-30 symbol (137 modules). Level L would leave a creased or smudged
print little to spare; Q would need version 36 (161 modules), smaller modules on the same
paper. Printed 80 mm wide, a module of M's symbol is about 0.55 mm, well within what a phone
camera reads. The QR holds the child's name and birth date, as the certificate does: it is the
family's (and an admin's) to read, audited like the certificates, and never cached."""

from __future__ import annotations

import io

import segno
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from api.audit import audited
from api.certificates import certificates_of_case
from api.openapi import Operation
from api.problems import ApiError

ERROR_LEVEL = "M"
SVG = "image/svg+xml"
PATH = "/cases/{case_id:uuid}/certificates/{certificate_id}/qr.svg"
OPERATIONS = [
    Operation(
        PATH,
        "GET",
        "A certificate's QR code (SVG, error correction M): the compact certificate that "
        "POST /verify checks; `certificate_id` is its `jti` in GET /cases/{id}/certificates. "
        "The family of the case, admin; audited like the certificates",
        roles=("family", "admin"),
        media=(SVG,),
        responses={
            404: "No such case, or no such certificate in it",
            503: "The read audit cannot record the read now",
        },
    ),
]


def qr_svg(content: str) -> bytes:
    """The QR code of `content` as a standalone SVG: black on white with the 4-module quiet
    zone, sized by its viewBox only (a page scales it)."""
    code = segno.make(content, error=ERROR_LEVEL, micro=False, boost_error=False)
    out = io.BytesIO()
    code.save(
        out,
        kind="svg",
        scale=1,
        border=4,
        dark="#000",
        light="#fff",
        omitsize=True,
        title="电子证照二维码 E-certificate QR code",
    )
    return out.getvalue()


async def certificate_qr(request: Request) -> Response:
    principal, case_id, found = await certificates_of_case(request)
    wanted = request.path_params["certificate_id"]
    entry = next((e for e in found if e["jti"] == wanted), None)
    if entry is None:
        raise ApiError(404, "not-found", "The case has no certificate with this id")
    await audited(request, principal, "certificates", case_id, wanted)
    svg = await run_in_threadpool(qr_svg, entry["certificate"])
    return Response(
        svg,
        media_type=SVG,
        headers={"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"},
    )


ROUTES = [Route(PATH, certificate_qr, methods=["GET"])]
