"""Studio sessions: the API key entered once (or a signed link) becomes a signed, expiring cookie.

The token is `<expires>.<hex HMAC-SHA256>` keyed by a key derived from API_KEY, so changing the key
signs everyone out and nothing is stored on the server. The cookie is HttpOnly and SameSite=Lax; it
authorizes reads, and writes only when they also carry the `X-Studio-Request` header (a header a
cross-site form cannot send), which the studio's own scripts add.
"""

from __future__ import annotations

import hashlib
import hmac
import time

from fastapi import Request
from starlette.responses import Response

COOKIE = "story2video_studio"
#: The header the studio's scripts send with every write made with the cookie.
CSRF_HEADER = "X-Studio-Request"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def _signing_key(api_key: str) -> bytes:
    return hmac.new(api_key.encode(), b"story2video studio session v1", hashlib.sha256).digest()


def issue(api_key: str, ttl_s: int, *, now: float | None = None) -> str:
    """A token valid for `ttl_s` seconds."""
    expires = int((time.time() if now is None else now) + ttl_s)
    signature = hmac.new(_signing_key(api_key), str(expires).encode(), hashlib.sha256).hexdigest()
    return f"{expires}.{signature}"


def verify(api_key: str, token: str | None, *, now: float | None = None) -> bool:
    """Whether `token` was issued with `api_key` and has not expired."""
    expires, _, signature = (token or "").partition(".")
    if not expires.isdigit() or not signature:
        return False
    expected = hmac.new(_signing_key(api_key), expires.encode(), hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, signature) and int(expires) > (time.time() if now is None else now)


def api_key_of(request: Request) -> str | None:
    secret = request.app.state.settings.server.API_KEY
    return None if secret is None else str(secret.get_secret_value())


def bearer_ok(request: Request) -> bool:
    """No API key configured, or the request's `Authorization: Bearer` carries it."""
    expected = api_key_of(request)
    if expected is None:
        return True
    token = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
    return hmac.compare_digest(token.encode(), expected.encode())


def cookie_ok(request: Request) -> bool:
    """A valid studio session cookie, and for a write the studio's request header."""
    expected = api_key_of(request)
    if expected is None:
        return True
    if request.method not in SAFE_METHODS and request.headers.get(CSRF_HEADER) != "1":
        return False
    return verify(expected, request.cookies.get(COOKIE))


def set_cookie(response: Response, request: Request, token: str, ttl_s: int) -> None:
    response.set_cookie(COOKIE, token, max_age=ttl_s, httponly=True, samesite="lax", path="/",
                        secure=request.url.scheme == "https")
