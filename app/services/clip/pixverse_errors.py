"""Pixverse's failure signals → our error kinds (pure: no I/O).

Pixverse answers `{ErrCode, ErrMsg, Resp}`; ErrCode ≠ 0 is a failure even on HTTP 200, and some
failures arrive as HTTP 500 with lower-case `{err_code, err_msg}` (image moderation on upload).
Codes are from the platform's "Error codes" page; unknown codes are terminal (never risk paying twice).
"""

from __future__ import annotations

from typing import Any

from app.core.errors import BackendError, TerminalBackendError, TransientBackendError
from app.services.backend import http_status_error

#: Worth retrying: the account's concurrent-generation limit, high load, the vendor's internal errors.
TRANSIENT_CODES = {
    500044: "rate_limited",  # reached the limit for concurrent generations
    500069: "vendor_busy",  # system is experiencing high load
    500031: "vendor_error",  # failed to retrieve image information
    500041: "vendor_error",  # image upload failed
    500100: "vendor_error",  # internal (MySQL) error
    99999: "vendor_error",  # unknown error
}
MODERATION_CODES = {500052, 500054, 500063}
BALANCE_CODES = {500043, 500060, 500090}  # credits used up, monthly limit, insufficient balance
AUTH_CODES = {400012, 500020}  # invalid account, no permission

#: Resp.status of a video task
STATUS_MESSAGES = {
    7: ("moderation", "the generated video failed Pixverse's content moderation (status 7)"),
    8: ("generation_failed", "Pixverse failed to generate the video (status 8)"),
}


def errcode_error(backend: str, errcode: int, errmsg: str) -> BackendError:
    """The error for a non-zero ErrCode: transient for load/limits, terminal for everything else."""
    message = f"{errmsg or 'no message'} [ErrCode {errcode}]"
    if errcode in TRANSIENT_CODES:
        return TransientBackendError(backend, TRANSIENT_CODES[errcode], message)
    if errcode in MODERATION_CODES:
        return TerminalBackendError(backend, "moderation", message)
    if errcode in BALANCE_CODES:
        return TerminalBackendError(backend, "insufficient_balance", message)
    if errcode in AUTH_CODES:
        return TerminalBackendError(backend, "unauthorized", message)
    return TerminalBackendError(backend, "invalid_request", message)


def envelope_error(backend: str, http_status: int, body: Any, text: str = "") -> BackendError | None:
    """The failure an answer carries (ErrCode first, then the HTTP status), or None when it succeeded."""
    envelope = body if isinstance(body, dict) else {}
    errcode = envelope.get("ErrCode", envelope.get("err_code"))
    errmsg = str(envelope.get("ErrMsg", envelope.get("err_msg")) or "")
    if isinstance(errcode, int) and errcode != 0:
        return errcode_error(backend, errcode, errmsg)
    if http_status >= 400:
        return http_status_error(backend, http_status, errmsg or _snippet(text) or f"HTTP {http_status}")
    if errcode != 0:
        return TransientBackendError(backend, "bad_response", f"answer without ErrCode: {_snippet(text)}")
    return None


def has_errcode(body: Any) -> bool:
    """Whether an answer carries a non-zero ErrCode: PixVerse's application answered and refused the request."""
    envelope = body if isinstance(body, dict) else {}
    errcode = envelope.get("ErrCode", envelope.get("err_code"))
    return isinstance(errcode, int) and errcode != 0


def status_error(backend: str, status: Any, video_id: Any) -> BackendError | None:
    """The failure a task status means (7 moderated, 8 failed), or None while it may still succeed."""
    if status in STATUS_MESSAGES:
        code, message = STATUS_MESSAGES[status]
        return TerminalBackendError(backend, code, f"{message}; video {video_id}")
    return None


def _snippet(text: str) -> str:
    return " ".join(text.split())[:200]
