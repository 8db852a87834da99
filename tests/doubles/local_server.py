"""What the doubles of our own model servers (CosyVoice/api.py, HunyuanVideo-1.5/api.py) share: their
error answer `{code, message, request_id, details?}` (headers such as Retry-After included) and the scripted
`internal_error` of any endpoint."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from tests.doubles.serving import RecordedCalls


class Refused(Exception):
    """An error answer of the server: `status` with `{code, message, details?}` and `headers`."""

    def __init__(self, status: int, code: str, message: str, details: dict | None = None,
                 headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.details, self.headers = status, code, message, details, headers


def error(request: Request, status: int, code: str, message: str, details: dict | None = None,
          headers: dict[str, str] | None = None) -> JSONResponse:
    body: dict[str, Any] = {"code": code, "message": message, "request_id": request.state.request_id}
    if details:
        body["details"] = details
    return JSONResponse(body, status_code=status, headers=headers)


def answer_refusals(app: FastAPI) -> None:
    """Answer a raised `Refused` as the servers do (the middleware sets `request.state.request_id`)."""

    @app.exception_handler(Refused)
    async def refused(request: Request, exc: Refused) -> JSONResponse:
        return error(request, exc.status, exc.code, exc.message, exc.details, exc.headers)


class LocalServerDouble(RecordedCalls):
    async def _enter(self, endpoint: str) -> None:
        """Log the call, hang if scripted to, then answer a scripted status as `internal_error`."""
        await self._record(endpoint)
        if (status := self._scripted_status(endpoint)) is not None:
            raise Refused(status, "internal_error", "internal error")
