"""What the clients of our own GPU servers (HunyuanVideo-1.5/api.py, CosyVoice/api.py) share.

Both servers answer errors as `{"code", "message", "request_id", "details"?}` with a meaningful HTTP
status: 422/413/404 for input the server refuses, 429 when its queue is full, 503 while the model loads,
500 for internal errors. The status decides transient vs terminal; the server's own code and message
are kept.
"""

from __future__ import annotations

import httpx

from app.core.errors import BackendError
from app.services.backend import http_status_error


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
