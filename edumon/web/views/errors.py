"""Error pages (Dutch) and the stylesheet."""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, RedirectResponse, Response

from edumon.web.site import render
from edumon.web.wording import HERE

TITLES = {403: "Geen toegang", 404: "Niet gevonden", 405: "Niet toegestaan", 413: "Te groot"}
MESSAGES = {
    404: "Deze pagina of opvolging bestaat niet, of hoort niet bij uw school.",
    405: "Dit adres kan zo niet gebruikt worden: open de pagina via het overzicht en gebruik de knoppen daar.",
    413: "Het formulier is te groot. Een toelichting is hooguit 4000 tekens.",
}


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 401:
        return RedirectResponse("/login", 303)
    detail_text = exc.detail if exc.status_code == 403 else MESSAGES.get(exc.status_code)
    return render(
        request,
        "error.html",
        exc.status_code,
        title=TITLES.get(exc.status_code, "Fout"),
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
