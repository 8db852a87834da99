"""Errors answered as ``{code, message, request_id, details?}``; exception text never reaches a client.

ApiError            an HTTP answer with a stable code (4xx for the caller's mistakes)
EnhanceError        a job failure with a code, recorded on the job (``invalid_video``, ``enhance_failed`` ...)
  MediaError        FFmpeg / ffprobe failed (carries the argv and stderr tail, for the log only)
  EngineNotConfigured  a GPU engine's checkout, weights or Python packages are missing
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

logger = logging.getLogger(__name__)


class ApiError(Exception):
    """An HTTP error answer."""

    def __init__(self, status_code: int, code: str, message: str, details: dict | None = None):
        super().__init__(message)
        self.status_code, self.code, self.message, self.details = status_code, code, message, details


class EnhanceError(Exception):
    """A job failure; ``message`` is safe to show a client."""

    code = "enhance_failed"

    def __init__(self, message: str, *, code: str | None = None):
        super().__init__(message)
        self.message = message
        self.code = code or self.code


class MediaError(EnhanceError):
    """An FFmpeg or ffprobe run failed."""

    code = "ffmpeg_failed"

    def __init__(self, message: str, *, argv: list[str] | None = None, stderr_tail: str = ""):
        super().__init__(message)
        self.argv, self.stderr_tail = argv or [], stderr_tail


class EngineNotConfigured(EnhanceError):
    """A GPU engine cannot run here; the message says what is missing and how to provide it."""

    code = "engine_not_configured"


def request_id_of(request: Request) -> str:
    return getattr(request.state, "request_id", "") or "-"


def error_body(request: Request, code: str, message: str, details: dict | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"code": code, "message": message, "request_id": request_id_of(request)}
    if details:
        body["details"] = details
    return body


async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
    return JSONResponse(error_body(request, exc.code, exc.message, exc.details), status_code=exc.status_code)


async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    return await _api_error(request, invalid_request(exc.errors()))


def invalid_request(errors: list) -> ApiError:
    """422 naming each bad field and why (pydantic's error list), never echoing the input."""
    items = [{"field": ".".join(str(p) for p in e["loc"] if p not in ("body", "query")), "problem": e["msg"]}
             for e in errors]
    first = items[0] if items else {"field": "body", "problem": "invalid request"}
    return ApiError(422, "invalid_request", f"{first['field'] or 'body'}: {first['problem']}", {"errors": items})


async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
    return JSONResponse(error_body(request, code, str(exc.detail)), status_code=exc.status_code)


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    logger.error("request %s failed", request_id_of(request), exc_info=exc)
    return JSONResponse(error_body(request, "internal_error", "internal error"), status_code=500)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ApiError, _api_error)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, _validation_error)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, _http_error)  # type: ignore[arg-type]
    app.add_exception_handler(Exception, _unexpected)
