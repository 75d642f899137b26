"""The read-only dashboard page at `/`: one static file; its script calls the JSON API."""

from __future__ import annotations

import base64
import hashlib
import re
from importlib.resources import files

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

router = APIRouter(tags=["operations"])

PAGE = files("app.static").joinpath("dashboard.html").read_text(encoding="utf-8")


def _script_hashes(html: str) -> str:
    return " ".join(
        "'sha256-" + base64.b64encode(hashlib.sha256(body.encode()).digest()).decode() + "'"
        for body in re.findall(r"<script>(.*?)</script>", html, flags=re.S)
    )


# Only the page's own script runs (pinned by hash) and it talks only to this service. Inline
# styles are allowed so a printable agenda opened from the page keeps its stylesheet.
CSP = (
    "default-src 'none'; "
    f"script-src {_script_hashes(PAGE)}; "
    "style-src 'unsafe-inline'; "
    "img-src 'self' blob: data:; "
    "connect-src 'self'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)


@router.get("/", response_class=HTMLResponse, summary="Dashboard (HTML)")
async def dashboard() -> HTMLResponse:
    return HTMLResponse(
        PAGE,
        headers={
            "Content-Security-Policy": CSP,
            "Cache-Control": "no-cache",
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer",
        },
    )
