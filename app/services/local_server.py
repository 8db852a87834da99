"""What the clients of our own GPU servers (HunyuanVideo-1.5/api.py, CosyVoice/api.py) share.

Both servers answer errors as `{"code", "message", "request_id", "details"?}` with a meaningful HTTP
status: 422/413/404 for input the server refuses, 429 when its queue is full, 503 while the model loads,
500 for internal errors. The status decides transient vs terminal; the server's own code and message
are kept.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any

import httpx

from app.core.errors import BackendError, TransientBackendError
from app.services.backend import http_status_error
from app.services.http_transport import transport_errors


def server_error(backend: str, response: httpx.Response) -> BackendError:
    """The error a non-2xx answer of one of our servers means (its code and message, by status)."""
    try:
        body = response.json()
    except ValueError:
        body = None
    body = body if isinstance(body, dict) else {}
    message = str(body.get("message") or " ".join(response.text.split())[:200] or f"HTTP {response.status_code}")
    if body.get("request_id"):
        message += f" (request {body['request_id']})"
    code = body.get("code")
    return http_status_error(backend, response.status_code, message, code if isinstance(code, str) else None)


def raise_for_error(backend: str, response: httpx.Response) -> httpx.Response:
    """Return `response` when it is 2xx, else raise `server_error`."""
    if response.is_success:
        return response
    raise server_error(backend, response)


async def json_object(backend: str, pending: Awaitable[httpx.Response]) -> dict[str, Any]:
    """Await a request to one of our servers; its JSON object answer, or the error it describes (transport
    failures and a body that is no JSON object are transient)."""
    with transport_errors(backend):
        response = await pending
    body = raise_for_error(backend, response).json()
    if not isinstance(body, dict):
        raise TransientBackendError(backend, "bad_response", f"the answer is not a JSON object: {response.text[:200]}")
    return body
