"""Error pages (Dutch) and the stylesheet."""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, RedirectResponse, Response

from edumon.web.site import render
from edumon.web.wording import HERE


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 401:
        return RedirectResponse("/login", 303)
    titles = {403: "Geen toegang", 404: "Niet gevonden", 405: "Niet toegestaan"}
    detail_text = exc.detail if exc.status_code == 403 else None
    if exc.status_code == 404:
        detail_text = "Deze pagina of opvolging bestaat niet, of hoort niet bij uw school."
    return render(
        request,
        "error.html",
        exc.status_code,
        title=titles.get(exc.status_code, "Fout"),
        message=detail_text or "Er ging iets mis.",
    )


async def not_found(request: Request, exc: Exception) -> Response:
    return await http_error(request, HTTPException(404))


async def locked(request: Request, exc: Exception) -> Response:
    return render(
        request,
        "error.html",
        503,
        title="Even bezet",
        message="De database is bezet door een monitoringsronde. Probeer het zo opnieuw.",
    )


async def style(request: Request) -> Response:
    return FileResponse(HERE / "static" / "style.css", media_type="text/css")
