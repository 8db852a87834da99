"""The shared contract of the three GPU servers: error body, request ids, job view and /health report.

The code between the markers is a copy of the same block in HunyuanVideo-1.5/api.py and CosyVoice/api.py (see
main.py's docstring for the contract itself).
"""

from __future__ import annotations

import logging
import re
import sys
import uuid
from collections.abc import Awaitable, Callable, Sequence
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

logger = logging.getLogger("video_api")

# ------------------------------------------------------------------------------------------ shared contract (begin)
# Kept identical on purpose in HunyuanVideo-1.5/api.py, CosyVoice/api.py and video_enhance/video_api/contract.py:
# each server is copied alone onto its GPU machine, so this is a copy, not an import.
# tests/test_gpu_server_contract.py checks that the copies match and that the three servers behave alike.

REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
HTTP_ERRORS = {404: ("not_found", "no such endpoint"), 405: ("method_not_allowed", "method not allowed here")}


class ApiError(Exception):
    """An error answer: ``status_code`` with ``{code, message, request_id, details?}`` (and ``headers``)."""

    def __init__(self, status_code: int, code: str, message: str, details: dict[str, Any] | None = None,
                 headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status_code, self.code, self.message = status_code, code, message
        self.details, self.headers = details, headers


def queue_full(capacity: int, retry_after_s: int) -> ApiError:
    """429: the bounded queue has no room; ``Retry-After`` says when to try again."""
    return ApiError(429, "queue_full", f"{capacity} requests are already waiting; retry later",
                    {"capacity": capacity, "retry_after_s": retry_after_s}, {"Retry-After": str(retry_after_s)})


def model_not_ready(failed: bool) -> ApiError:
    """503 while the model loads (``model_loading``) or after it failed to load (``model_unavailable``)."""
    return ApiError(503, "model_unavailable" if failed else "model_loading", "the model is not loaded; see GET /health")


def job_not_found() -> ApiError:
    """404 for an unknown job id (finished jobs expire after the server's TTL)."""
    return ApiError(404, "job_not_found", "no such job (finished jobs expire after a while)")


def result_not_ready(status: str, error: dict[str, str] | None) -> ApiError:
    """409 for a job's result before it succeeded: ``job_not_finished``, or ``job_failed`` with its error."""
    if status == "failed":
        return ApiError(409, "job_failed", "the job failed; it has no result", {"error": error or {}})
    return ApiError(409, "job_not_finished", f"the job is {status}")


def invalid_request(errors: Sequence[Any]) -> ApiError:
    """422 naming each bad field and its problem (pydantic's error list), never echoing the input."""
    items = [{"field": ".".join(str(p) for p in e["loc"] if p not in ("body", "query", "path")), "problem": e["msg"]}
             for e in errors]
    first = items[0] if items else {"field": "", "problem": "invalid request"}
    return ApiError(422, "invalid_request", f"{first['field'] or 'body'}: {first['problem']}", {"errors": items})


def request_id_of(request: Request) -> str:
    """The caller's ``X-Request-Id`` when well-formed, else a new id; fixed for the rest of the request."""
    rid = getattr(request.state, "request_id", None)
    if not rid:
        incoming = request.headers.get("x-request-id", "")
        rid = incoming if REQUEST_ID.match(incoming) else uuid.uuid4().hex
        request.state.request_id = rid
    return rid


def error_response(request: Request, status_code: int, code: str, message: str,
                   details: dict[str, Any] | None = None, headers: dict[str, str] | None = None) -> JSONResponse:
    """The one error body, ``{code, message, request_id, details?}``, with the ``X-Request-Id`` header."""
    rid = request_id_of(request)
    body: dict[str, Any] = {"code": code, "message": message, "request_id": rid}
    if details:
        body["details"] = details
    return JSONResponse(body, status_code=status_code, headers={**(headers or {}), "X-Request-Id": rid})


def install_contract(app: FastAPI) -> None:
    """Tag every answer with ``X-Request-Id`` and answer every error (routing, validation, crash) as the shared body."""

    @app.middleware("http")
    async def tag_request_id(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        rid = request_id_of(request)
        response = await call_next(request)
        response.headers["X-Request-Id"] = rid
        return response

    @app.exception_handler(ApiError)
    async def on_api_error(request: Request, exc: ApiError) -> JSONResponse:
        return error_response(request, exc.status_code, exc.code, exc.message, exc.details, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def on_invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        return await on_api_error(request, invalid_request(exc.errors()))

    @app.exception_handler(StarletteHTTPException)
    async def on_http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code, message = HTTP_ERRORS.get(exc.status_code, ("http_error", HTTPStatus(exc.status_code).phrase))
        return error_response(request, exc.status_code, code, message, headers=exc.headers)

    @app.exception_handler(Exception)
    async def on_unexpected(request: Request, exc: Exception) -> JSONResponse:
        logger.error("request %s failed", request_id_of(request), exc_info=exc)
        return error_response(request, 500, "internal_error", "internal error; see the server log")


def job_view(job_id: str, status: str, *, queue_position: int | None, progress: dict[str, int] | None,
             error: dict[str, str] | None, created_at: float, started_at: float | None, finished_at: float | None,
             result: dict[str, Any] | None, **extra: Any) -> dict[str, Any]:
    """A job as ``POST /v1/jobs`` (202) and ``GET /v1/jobs/{id}`` show it: the shared keys, then the server's own."""
    return {**extra, "job_id": job_id, "status": status, "queue_position": queue_position, "progress": progress,
            "error": error, "created_at": created_at, "started_at": started_at, "finished_at": finished_at,
            "result": result}


def gpu_memory(device: str | None) -> dict[str, Any] | None:
    """CUDA memory in MiB when ``device`` is a CUDA device (torch is already loaded then), else None."""
    torch = sys.modules.get("torch")
    if not (device or "").startswith("cuda") or torch is None or not torch.cuda.is_available():
        return None
    mib = 1024 * 1024
    free, total = torch.cuda.mem_get_info()
    return {"name": torch.cuda.get_device_name(), "total_mib": total // mib, "free_mib": free // mib,
            "allocated_mib": torch.cuda.memory_allocated() // mib, "reserved_mib": torch.cuda.memory_reserved() // mib,
            "peak_allocated_mib": torch.cuda.max_memory_allocated() // mib}


def health_response(*, server: str, version: str, status: str, model: dict[str, Any] | None, device: str | None,
                    running: int, waiting: int, capacity: int, error: dict[str, str] | None,
                    **extra: Any) -> JSONResponse:
    """``GET /health``: the shared keys (then the server's own); HTTP 200 when ``status`` is ok, else 503."""
    body = {**extra, "status": status, "server": server, "version": version, "model": model, "device": device,
            "gpu": gpu_memory(device), "queue": {"running": running, "waiting": waiting, "capacity": capacity},
            "error": error}
    return JSONResponse(body, status_code=200 if status == "ok" else 503)


# ------------------------------------------------------------------------------------------ shared contract (end)
