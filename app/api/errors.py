"""Exception handlers: every error is `{code, message, details?}`; no stack traces, no paths, no input echo."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from loguru import logger
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.core.errors import ApiError, storage_error


class ErrorBody(BaseModel):
    """Every error the API answers."""

    code: str
    message: str
    details: dict[str, Any] | None = None


#: Answers any /api/v1 route may give, for the OpenAPI document.
ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorBody, "description": "invalid_json: the body is not JSON"},
    401: {"model": ErrorBody, "description": "API_KEY is set and the bearer token is missing or wrong"},
    422: {"model": ErrorBody, "description": "invalid_request (details.errors) or another input code"},
    500: {"model": ErrorBody, "description": "internal_error"},
}


#: Answers of routes that read one user's resource.
READ: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorBody, "description": "Unknown, or another user's"},
    409: {"model": ErrorBody, "description": "X-User-Id and user_id disagree"},
}


async def _api_error(_: Request, exc: ApiError) -> JSONResponse:
    return JSONResponse(exc.body(), status_code=exc.status_code, headers=exc.headers or None)


def _problem(err: dict[str, Any]) -> str:
    """What is wrong with one field, in words; a too-long text says its length and the limit."""
    limit = (err.get("ctx") or {}).get("max_length")
    if err.get("type") == "string_too_long" and isinstance(err.get("input"), str) and limit is not None:
        return f"too long: {len(err['input'])} characters, the limit is {limit}"
    return str(err["msg"])


async def _validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
    errors = [{"field": ".".join(str(p) for p in err["loc"] if p != "body"), "problem": _problem(err)}
              for err in exc.errors()]
    first = errors[0] if errors else {"field": "", "problem": "invalid request"}
    message = f"{first['field'] or 'body'}: {first['problem']}"
    return JSONResponse({"code": "invalid_request", "message": message, "details": {"errors": errors}},
                        status_code=422)


async def _http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
    code = {400: "invalid_json", 404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
    return JSONResponse({"code": code, "message": str(exc.detail)}, status_code=exc.status_code,
                        headers=getattr(exc, "headers", None))  # e.g. Allow on a 405


async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
    disk = storage_error(exc) if isinstance(exc, OSError) else None
    if disk is not None:
        logger.error("request refused: {} ({})", disk.code, exc)
        return JSONResponse(disk.body(), status_code=disk.status_code)
    logger.opt(exception=exc).error("unhandled error")
    return JSONResponse({"code": "internal_error", "message": "internal error"}, status_code=500)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ApiError, _api_error)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, _validation_error)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, _http_error)  # type: ignore[arg-type]
    app.add_exception_handler(Exception, _unexpected)
