"""`GET /metrics` for Prometheus, and the middleware that counts and times every HTTP request.

The metrics themselves live in `app/core/metrics.py` and are moved where the work happens; here the
callback backlog and dead letters are counted at scrape time, and the registry is written out in the
Prometheus text format. With API_KEY set the endpoint needs it (Bearer), unless METRICS_REQUIRE_API_KEY
is false.
"""

from __future__ import annotations

import asyncio
import time

from fastapi import APIRouter, FastAPI, Request
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.api import session
from app.core import metrics
from app.core.errors import Unauthorized
from app.core.settings import Settings
from app.services.callbacks import parked

router = APIRouter(tags=["health"])


@router.get("/metrics", response_class=Response, responses={200: {"content": {"text/plain": {}}}})
async def prometheus_metrics(request: Request) -> Response:
    """Prometheus metrics (text exposition format)."""
    settings: Settings = request.app.state.settings
    if settings.observability.METRICS_REQUIRE_API_KEY and not session.bearer_ok(request):
        raise Unauthorized("unauthorized", "a valid 'Authorization: Bearer <API_KEY>' header is required")
    backlog, dead = await asyncio.to_thread(parked.counts, settings)
    metrics.CALLBACK_BACKLOG.set(backlog)
    metrics.CALLBACK_DEAD_LETTERS.set(dead)
    return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)


class RequestMetrics:
    """Counts requests by method, route template and status, and times them (a stream: until it ends)."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def tracking_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        finally:
            method, route = scope.get("method", ""), _route_of(scope)
            metrics.HTTP_REQUESTS.labels(method, route, str(status)).inc()
            metrics.HTTP_LATENCY.labels(method, route).observe(time.perf_counter() - start)


def _route_of(scope: Scope) -> str:
    """The matched route's template (`/api/v1/operations/{operation_id}`), never the raw path."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    if isinstance(path, str) and path:
        return path
    return "unmatched"


def install_metrics(app: FastAPI, settings: Settings) -> None:
    if settings.observability.METRICS_ENABLED:
        app.include_router(router)
        app.add_middleware(RequestMetrics)
