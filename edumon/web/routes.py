"""The review page's routes table and error handlers. To add a page: write an endpoint in
`edumon/web/views/` and add one `Route` here."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.exceptions import HTTPException
from starlette.routing import Route

from edumon.web.store import NotFound
from edumon.web.views import errors, followups, login, review_queue
from warehouse import WarehouseLocked

ROUTES = [
    Route("/", followups.overview),
    Route("/login", login.login_page, methods=["GET"]),
    Route("/login", login.login, methods=["POST"]),
    Route("/logout", login.logout, methods=["POST"]),
    Route("/opvolging/{mention_id}", followups.detail, methods=["GET"]),
    Route("/opvolging/{mention_id}/rapport", followups.report, methods=["GET"]),
    Route("/opvolging/{mention_id}/actie", followups.act, methods=["POST"]),
    Route("/opvolging/{mention_id}/labels", followups.labels, methods=["POST"]),
    Route(review_queue.PATH, review_queue.review_list, methods=["GET"]),
    Route(review_queue.PATH + "/{mention_id}/bevestigen", review_queue.review_confirm, methods=["POST"]),
    Route(review_queue.PATH + "/{mention_id}/afwijzen", review_queue.review_dismiss, methods=["POST"]),
    Route("/static/style.css", errors.style),
]

EXCEPTION_HANDLERS: dict[Any, Callable[..., Any]] = {
    HTTPException: errors.http_error,
    NotFound: errors.not_found,
    WarehouseLocked: errors.locked,
}
