"""What the DashScope media backends share: the account settings, the vendor's error mapping, the async-task
submit + poll helper, and downloading a result the moment it exists (its URL expires).

Which client does what (dashscope SDK 2.0.2):
* submit: `ImageSynthesis.async_call` / `VideoSynthesis.async_call` with `base_address=` and `api_key=` per call
  (the SDK adds `X-DashScope-Async: enable`);
* poll and cancel: the SDK's generic `BaseAsyncApi.fetch` / `.cancel`, because `ImageSynthesis.fetch` and
  `VideoSynthesis.fetch` drop `base_address` and would fall back to the module global
  `dashscope.base_http_api_url`, which we never set (the Qwen backend shares the process);
* readiness: httpx (the SDK's task GETs have a fixed 300 s timeout); result downloads: the shared
  `app.services.media_fetch.download` (httpx, http(s) only, size-capped, no vendor auth sent to the CDN).
  Both go through the one httpx client the `DashScopeClient` keeps for its life (the key travels only on
  the readiness request's own headers); `aclose()` closes it.
SDK calls are blocking, so they run in threads (`asyncio.to_thread`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Protocol, TypeVar

import httpx
import requests
from dashscope.client.base_api import BaseAsyncApi
from dashscope.common.error import DashScopeException, RequestFailure
from loguru import logger

from app.core.errors import BackendError, TerminalBackendError, TransientBackendError
from app.core.settings.base import PolicySettings as PolicySettings  # re-exported: it used to live here
from app.core.settings.dashscope import DashScopeSettings
from app.services.backend import Readiness
from app.services.media_fetch import download, media_client
from app.services.scheduling import note_running, note_waiting

T = TypeVar("T")

#: Vendor error codes (prefixes) worth retrying whatever the HTTP status says.
TRANSIENT_CODES = ("Throttling", "InternalError", "ServiceUnavailable", "RequestTimeOut", "SystemError")
#: Task states after which polling stops [SDK constants.TaskStatus].
FINAL_STATES = ("SUCCEEDED", "FAILED", "CANCELED", "UNKNOWN")
#: A task id nobody has: fetching it is the cheapest authenticated request there is.
PROBE_TASK_ID = "00000000-0000-0000-0000-readiness000"
MESSAGE_MAX_CHARS = 500


# --- pure: errors ----------------------------------------------------------------------------------------


def vendor_error(backend: str, status: int, code: str | None, message: str | None,
                 request_id: str | None = None) -> BackendError:
    """A DashScope error answer `{code, message, request_id}` as our error: 408/429/5xx and Throttling*/
    InternalError* codes are transient; the rest (DataInspectionFailed, InvalidParameter, InvalidApiKey…) terminal."""
    code = code or f"http_{status}"
    text = str(message or f"HTTP {status}")[:MESSAGE_MAX_CHARS]  # a proxy's HTML error page is no message
    if request_id:
        text = f"{text} (request_id {request_id})"
    transient = status in (408, 429) or status >= 500 or code.startswith(TRANSIENT_CODES)
    return (TransientBackendError if transient else TerminalBackendError)(backend, code, text)


def task_error(backend: str, output: Mapping[str, Any]) -> TerminalBackendError:
    """A task that ended FAILED, CANCELED or UNKNOWN: terminal, with the vendor's code and message."""
    status = str(output.get("task_status", "UNKNOWN"))
    code = output.get("code") or f"task_{status.lower()}"
    message = output.get("message") or f"task {output.get('task_id', '?')} ended {status}"
    return TerminalBackendError(backend, str(code), str(message))


def sdk_error(backend: str, exc: BaseException) -> BackendError:
    """An exception raised by the SDK (or its HTTP/WebSocket stack) as our error."""
    if isinstance(exc, RequestFailure):
        return vendor_error(backend, 0, exc.name, exc.message, exc.request_id)
    if isinstance(exc, requests.Timeout | TimeoutError):
        return TransientBackendError(backend, "timeout", f"DashScope did not answer in time: {exc}")
    if isinstance(exc, requests.ConnectionError | ConnectionError):
        return TransientBackendError(backend, "unreachable", f"cannot reach DashScope: {type(exc).__name__}")
    if isinstance(exc, DashScopeException | ValueError):
        return TerminalBackendError(backend, "client_error", f"{type(exc).__name__}: {exc}")
    return TransientBackendError(backend, "client_error", f"{type(exc).__name__}: {exc}")


# --- I/O -------------------------------------------------------------------------------------------------


class TaskResponse(Protocol):
    """What the SDK answers a task call with (`DashScopeAPIResponse` and its subclasses)."""

    status_code: int
    code: str
    message: str
    request_id: str
    output: Any


class AsyncTaskApi(Protocol):
    """An SDK API class whose `async_call` creates a task: `ImageSynthesis`, `VideoSynthesis`.

    (The SDK's own stub does not declare them as `BaseAsyncApi` subclasses, so they are matched by shape.)"""

    def async_call(self, *args: Any, **kwargs: Any) -> TaskResponse: ...


class DashScopeClient:
    """One backend's view of the DashScope account: async tasks, downloads and readiness."""

    def __init__(self, backend: str, settings: DashScopeSettings):
        self.backend = backend
        self.settings = settings
        #: readiness probes and result downloads; no auth headers of its own
        self._http = media_client(settings.DOWNLOAD_TIMEOUT_S)

    def api_key(self) -> str:
        """The API key, or a terminal error when it is not configured."""
        key = self.settings.API_KEY.get_secret_value() if self.settings.API_KEY else ""
        if not key:
            raise TerminalBackendError(self.backend, "missing_api_key", "DASHSCOPE_API_KEY is not set")
        return key

    def _account(self) -> dict[str, Any]:
        return {"api_key": self.api_key(), "workspace": self.settings.WORKSPACE or None,
                "base_address": self.settings.BASE_HTTP_URL}

    async def _sdk(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        try:
            return await asyncio.to_thread(fn, *args, **kwargs)
        except BackendError:
            raise
        except Exception as exc:
            raise sdk_error(self.backend, exc) from exc

    async def submit(self, api: AsyncTaskApi, **kwargs: Any) -> str:
        """Create an async task with `api.async_call(**kwargs)`; return its task id."""
        rsp = await self._sdk(api.async_call, **kwargs, **self._account(),
                              request_timeout=int(self.settings.SUBMIT_TIMEOUT_S))
        if rsp.status_code != 200:
            raise vendor_error(self.backend, rsp.status_code, rsp.code, rsp.message, rsp.request_id)
        task_id = (rsp.output or {}).get("task_id")
        if not task_id:
            raise TransientBackendError(self.backend, "bad_response", "task creation answered without a task_id")
        logger.info("{}: task {} created", self.backend, task_id)
        return str(task_id)

    async def wait(self, task_id: str, *, timeout_s: float) -> dict[str, Any]:
        """Poll the task until it ends; return its `output` on SUCCEEDED, raise otherwise.

        Transient poll failures (429, 5xx) are polled through; a task still PENDING/RUNNING after `timeout_s`
        raises a transient `task_timeout` (and a PENDING one is cancelled so it is not billed).
        """
        deadline = time.monotonic() + timeout_s
        status = "PENDING"
        while True:
            output = await self._poll_once(task_id)
            if output is not None:
                status = str(output.get("task_status", status))
                if status == "SUCCEEDED":
                    return dict(output)
                if status in FINAL_STATES:
                    raise task_error(self.backend, output)
                if status == "PENDING":  # in the vendor's queue
                    note_waiting()
                else:
                    note_running()
            if time.monotonic() + self.settings.POLL_INTERVAL_S > deadline:
                await self._cancel_if_pending(task_id, status)
                raise TransientBackendError(self.backend, "task_timeout",
                                            f"task {task_id} still {status} after {timeout_s:g} s")
            await asyncio.sleep(self.settings.POLL_INTERVAL_S)

    async def _poll_once(self, task_id: str) -> Mapping[str, Any] | None:
        try:
            rsp = await self._sdk(BaseAsyncApi.fetch, task_id, **self._account())
        except TransientBackendError as exc:
            logger.warning("{}: polling task {} failed ({}); polling on", self.backend, task_id, exc.code)
            return None
        if rsp.status_code == 200:
            if rsp.output and isinstance(rsp.output, Mapping):
                return rsp.output
            logger.warning("{}: task {} lookup answered without output; polling on", self.backend, task_id)
            return None
        error = vendor_error(self.backend, rsp.status_code, rsp.code, rsp.message, rsp.request_id)
        if error.transient:
            logger.warning("{}: polling task {} answered {}; polling on", self.backend, task_id, error.code)
            return None
        raise error

    async def _cancel_if_pending(self, task_id: str, status: str) -> None:
        if status != "PENDING":
            return
        try:
            await self._sdk(BaseAsyncApi.cancel, task_id, **self._account())
        except BackendError as exc:
            logger.warning("{}: cancelling task {} failed: {}", self.backend, task_id, exc.message)

    async def run_task(self, api: AsyncTaskApi, *, timeout_s: float, **kwargs: Any) -> dict[str, Any]:
        """Submit a task and wait for it; return the SUCCEEDED task's `output`."""
        return await self.wait(await self.submit(api, **kwargs), timeout_s=timeout_s)

    async def download(self, url: str, dest: Path) -> None:
        """Fetch a result URL to `dest` at once (it expires): http(s) only, at most MAX_DOWNLOAD_MB, no auth sent."""
        await download(url, dest, backend=self.backend, max_bytes=int(self.settings.MAX_DOWNLOAD_MB * 1024 * 1024),
                       timeout_s=self.settings.DOWNLOAD_TIMEOUT_S, client=self._http)

    async def ready(self) -> Readiness:
        """Ready when the key is set and the base URL answers a task lookup with the key accepted."""
        if not self.settings.API_KEY or not self.settings.API_KEY.get_secret_value():
            return Readiness(ready=False, detail="DASHSCOPE_API_KEY is not set")
        url = f"{self.settings.BASE_HTTP_URL.rstrip('/')}/tasks/{PROBE_TASK_ID}"
        try:
            rsp = await self._http.get(url, headers={"Authorization": f"Bearer {self.api_key()}"},
                                       timeout=self.settings.READY_TIMEOUT_S, follow_redirects=False)
        except httpx.HTTPError as exc:
            return Readiness(ready=False, detail=f"{self.settings.BASE_HTTP_URL} unreachable: {type(exc).__name__}")
        return probe_readiness(rsp.status_code, _json(rsp))

    async def aclose(self) -> None:
        """Close the HTTP client (the SDK manages its own connections)."""
        await self._http.aclose()


def probe_readiness(status: int, body: Mapping[str, Any]) -> Readiness:
    """Readiness from the answer to a task lookup: any well-formed DashScope answer but an auth failure is ready."""
    if status == 200 and "output" in body:
        return Readiness(ready=True, detail="DashScope answers; API key accepted")
    if status in (401, 403):
        return Readiness(ready=False, detail=f"{body.get('code', status)}: {body.get('message', 'key rejected')}")
    if 400 <= status < 500 and "code" in body:
        return Readiness(ready=True, detail=f"DashScope answers ({body['code']})")
    return Readiness(ready=False, detail=f"DashScope answered HTTP {status}")


def _json(rsp: httpx.Response) -> dict[str, Any]:
    try:
        body = rsp.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}
