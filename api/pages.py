"""HTML pages: the family's /track, the office's /office, the monitor's /monitor, the
coordinator's /desk and everyone's /verify (an e-certificate's QR code content, checked).

The server only serves shells (templates and static files) with no personal data in them; the
browser fetches everything else from the JSON API with the token the user enters. Also the
locality-name lookup the pages use, which needs no token.
"""

from __future__ import annotations

import hashlib
import re
from functools import cache
from importlib.resources import files
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from adapters.facade import AUTHORITIES, every_service, full_division_name
from api.openapi import HTML, Operation
from api.problems import ApiError
from api.responses import ORJSONResponse

LOCALITY = re.compile(r"^[1-8]\d{5}$", re.ASCII)
STATIC_NAME = re.compile(r"^[a-z0-9][a-z0-9-]*\.(css|js|svg)$")
MEDIA = {
    "css": "text/css; charset=utf-8",
    "js": "text/javascript; charset=utf-8",
    "svg": "image/svg+xml",
}
# The pages load scripts and styles from /static only and talk to this origin only. Images may
# also be blob: URLs: /track shows each certificate's QR code (an SVG fetched with the family's
# token) through one, and an SVG in an <img> runs no script.
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob:; "
    "connect-src 'self'; form-action 'none'; base-uri 'none'; frame-ancestors 'none'"
)
PAGE_HEADERS = {
    "Content-Security-Policy": CSP,
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
}
AUTHORITY_NAMES = {
    "health": ("卫生健康部门 出生医院", "Health commission (birth hospital)"),
    "cdc": ("疾控预防接种门诊", "CDC vaccination clinic"),
    "public-security": ("公安户籍窗口", "Public security (hukou office)"),
    "medical-insurance": ("医疗保障部门", "Medical insurance bureau"),
    "hrss": ("人力资源和社会保障部门", "Human resources and social security"),
    "civil-affairs": ("民政部门 婚姻登记处", "Civil affairs (marriage registry)"),
}
PAGES = {
    "/track": ("track.html", "Family: the case timeline, application, supplement and rating"),
    "/apply/marriage": (
        "apply_marriage.html",
        "The couple (or a civil-affairs window clerk signed in for them): apply for marriage "
        "registration across provinces; the tracking code and what to bring",
    ),
    "/office": ("office.html", "Office: the work queue and its decisions"),
    "/monitor": ("monitor.html", "Monitor: figures and flows with charts"),
    "/apply/id-card": (
        "apply_id_card.html",
        "Police window: open an ID card case for the applicant at the window (off-site)",
    ),
    "/desk": ("desk.html", "Coordinator: the routing desk, and a route for each request on it"),
    "/verify": (
        "verify.html",
        "Anyone: verify an e-certificate (paste the QR code's content, or open with "
        "#<certificate>): what it states, who signed it, its status",
    ),
}
OPERATIONS = [
    *(
        Operation(
            path,
            "GET",
            f"HTML page. {summary} (a shell: data comes from the JSON API)",
            media=(HTML,),
        )
        for path, (_, summary) in PAGES.items()
    ),
    Operation(
        "/static/{name}",
        "GET",
        "The pages' style sheet, scripts and icon (no token needed)",
        media=tuple(sorted({m.split(";")[0] for m in MEDIA.values()})),
        responses={304: "Not modified (If-None-Match)", 404: "No such file"},
    ),
    Operation(
        "/localities/{code}",
        "GET",
        "The name of a GB/T 2260 locality, e.g. 430602 → 湖南省 岳阳楼区 (no token needed)",
        answer="Locality",
        responses={404: "Unknown locality", 422: "Not a 6-digit code"},
    ),
]


@cache
def environment() -> Environment:
    return Environment(
        loader=PackageLoader("api", "templates"),
        autoescape=select_autoescape(default=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


@cache
def reference() -> dict[str, Any]:
    """What every page embeds: service names and result fields (every wing's), authority
    names (no persons)."""
    return {
        "services": {
            s.code: {
                "zh": s.name_zh,
                "en": s.name_en,
                "authority": s.authority,
                "result_field": s.result_field,
            }
            for s in every_service()
        },
        "authorities": {
            code: {"zh": AUTHORITY_NAMES[code][0], "en": AUTHORITY_NAMES[code][1]}
            for code in AUTHORITIES
        },
    }


@cache
def render(template: str) -> str:
    """A page is the same for everyone, so it is rendered once per process."""
    return (
        environment()
        .get_template(template)
        .render(
            reference=reference(),
            authorities=[(code, *AUTHORITY_NAMES[code]) for code in AUTHORITIES],
            static=static_url,
            page=template.removesuffix(".html"),
        )
    )


async def page(request: Request) -> Response:
    template, _ = PAGES[request.url.path]
    return HTMLResponse(render(template), headers=PAGE_HEADERS)


@cache
def static_file(name: str) -> tuple[bytes, str] | None:
    """A file of api/static and its ETag; None for any other name."""
    if not STATIC_NAME.match(name):
        return None
    resource = files("api").joinpath("static", name)
    if not resource.is_file():
        return None
    content = resource.read_bytes()
    return content, '"' + hashlib.sha256(content).hexdigest()[:32] + '"'


def static_url(name: str) -> str:
    """/static/<name>?v=<content hash>, so a new release is never served from a stale cache."""
    found = static_file(name)
    if found is None:
        raise LookupError(f"api/static/{name} is missing")
    return f"/static/{name}?v={found[1].strip(chr(34))[:12]}"


async def static(request: Request) -> Response:
    name = request.path_params["name"]
    found = static_file(name)
    if found is None:
        raise ApiError(404, "not-found", "No such file")
    content, etag = found
    headers = {
        "ETag": etag,
        "Cache-Control": "public, max-age=3600",
        "X-Content-Type-Options": "nosniff",
    }
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    return Response(content, media_type=MEDIA[name.rsplit(".", 1)[1]], headers=headers)


async def locality(request: Request) -> Response:
    code = request.path_params["code"]
    if not LOCALITY.match(code):
        raise ApiError(
            422, "invalid-parameter", "A locality is a 6-digit GB/T 2260 code", parameter="code"
        )
    name = full_division_name(code)
    if name == code:
        raise ApiError(404, "not-found", "No locality has this code")
    return ORJSONResponse(
        {"code": code, "name": name}, headers={"Cache-Control": "public, max-age=86400"}
    )


ROUTES = [
    *(Route(path, page, methods=["GET"]) for path in PAGES),
    Route("/static/{name}", static, methods=["GET"]),
    Route("/localities/{code}", locality, methods=["GET"]),
]
