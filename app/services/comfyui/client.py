"""An async client for one ComfyUI host: queue a prompt, follow it, fetch its files (providers.md §1).

`run()` follows the pattern ComfyUI's own examples use: open `/ws?clientId=<fresh id>`, POST
/prompt with that client id, read progress until `execution_success` (or `executing` with
`node: null`), then read `/history/{prompt_id}` and fetch the files with `/view` — never from a
shared disk. When the WebSocket cannot be opened, or drops, the client polls `/history` instead.
The server writes the history entry just after it announces success, so the first reads come
quickly (`polling.Pacer`: 50 ms, doubling up to COMFYUI_POLL_INTERVAL_S), and `run(finished=…)` is
told as soon as the host is done, so its lease can go to the next job before the outputs download.
The whole run is bounded by an overall timeout, after which the prompt is taken off the host.
No `Origin` header is sent (ComfyUI's CSRF guard rejects a mismatched one on loopback).

Taking a prompt off a host never touches anyone else's: `POST /queue {"delete": [id]}` removes it only while it is
pending, and `POST /interrupt` is sent only when `GET /queue` shows *our* prompt running. Servers older than late
August 2025 ignore the interrupt's `{"prompt_id"}` body and stop whatever runs (another replica's job, a UI user's);
newer ones honour it — so the body is sent for them, and the queue check protects the others. (A prompt that ends
between the check and the interrupt leaves a window of one request on old servers.)
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from loguru import logger
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI

from app.core.errors import TerminalBackendError, TransientBackendError
from app.core.settings.comfyui import ComfyUISettings
from app.services.backend import http_status_error
from app.services.comfyui.protocol import (
    BACKEND,
    FileRef,
    history_entry,
    history_failure,
    prompt_rejection,
    read_ws_event,
    ws_url,
)
from app.services.media_fetch import write_capped
from app.services.polling import Pacer
from app.services.scheduling import note_running

Progress = Callable[[float], None]
#: Consecutive failed /history polls tolerated before the host counts as gone.
POLL_FAILURES = 3
WS_MAX_FRAME = 32 * 1024 * 1024


class ComfyClient:
    """One ComfyUI host's HTTP + WebSocket API, over one HTTP client kept until `aclose()`
    (or use as `async with ComfyClient(url, settings) as c:`)."""

    def __init__(self, base_url: str, settings: ComfyUISettings):
        self.base_url = base_url.rstrip("/")
        self.settings = settings
        # local GPU servers: reached directly, as the WebSocket is (HTTP(S)_PROXY is not applied)
        self.http = httpx.AsyncClient(base_url=self.base_url, timeout=settings.HTTP_TIMEOUT_S, trust_env=False)

    async def __aenter__(self) -> ComfyClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self.http.aclose()

    async def run(self, graph: dict[str, Any], *, timeout_s: float, progress: Progress | None = None,
                  finished: Callable[[], None] | None = None) -> dict[str, Any]:
        """Queue `graph`, wait for it to finish, and return its /history entry. `progress` gets the sampler's
        share done; `finished` is called once the host has finished the prompt (before its history is read).

        Raises:
            TerminalBackendError: the graph was rejected (400 `node_errors`) or a node failed
                (`execution_error`), with the node's own message.
            TransientBackendError: 5xx, a lost host, or no result within `timeout_s` (`timeout`).
        """
        prompt_id: str | None = None
        try:
            async with asyncio.timeout(timeout_s):
                client_id = uuid.uuid4().hex
                ws = await self._open_ws(client_id)
                try:
                    prompt_id = await self.queue(graph, client_id)
                    if ws is not None and await self._follow(ws, prompt_id, progress) and finished is not None:
                        finished()
                finally:
                    if ws is not None:
                        await ws.close()
                return await self._wait_history(prompt_id, finished)
        except TimeoutError:
            if prompt_id is not None:
                await self.cancel(prompt_id)
            raise TransientBackendError(BACKEND, "timeout", f"ComfyUI at {self.base_url} did not finish "
                                        f"prompt {prompt_id or '(not queued)'} within {timeout_s:g} s") from None
        except asyncio.CancelledError:  # the operation was cancelled: free the host too
            if prompt_id is not None:
                await self.cancel(prompt_id)
            raise

    async def queue(self, graph: dict[str, Any], client_id: str) -> str:
        """POST /prompt; the new prompt's id."""
        response = await self.http.post("/prompt", json={"prompt": graph, "client_id": client_id})
        if response.status_code != 200:
            raise prompt_rejection(response.status_code, response.text)
        body = response.json()
        logger.debug("comfyui {} queued prompt {} (#{})", self.base_url, body.get("prompt_id"), body.get("number"))
        return str(body["prompt_id"])

    async def history(self, prompt_id: str) -> dict[str, Any] | None:
        """The prompt's /history entry, or None while it is queued or running."""
        response = await self.http.get(f"/history/{prompt_id}")
        _raise_for_status(response)
        return history_entry(response.json(), prompt_id)

    async def cancel(self, prompt_id: str) -> None:
        """Best effort: drop the prompt from the pending queue; interrupt it only if the host says it is the one
        running (an old server's /interrupt stops whatever runs, whoever queued it)."""
        try:
            await self.http.post("/queue", json={"delete": [prompt_id]}, timeout=5.0)
            if prompt_id not in await self.running_prompts():
                return
            await self.http.post("/interrupt", json={"prompt_id": prompt_id}, timeout=5.0)
        except (httpx.HTTPError, TransientBackendError, TerminalBackendError, ValueError) as exc:
            logger.warning("comfyui {}: taking prompt {} off the host failed: {!r}", self.base_url, prompt_id, exc)

    async def running_prompts(self) -> set[str]:
        """The ids GET /queue lists as running (`queue_running` tuples: [number, prompt_id, prompt, …])."""
        response = await self.http.get("/queue", timeout=5.0)
        _raise_for_status(response)
        running = response.json().get("queue_running") or []
        return {str(item[1]) for item in running if isinstance(item, list | tuple) and len(item) > 1}

    async def upload_image(self, path: Path, name: str) -> str:
        """POST /upload/image into the host's input folder; the value for `LoadImage.inputs.image`."""
        files = {"image": (name, path.read_bytes(), "image/png")}
        response = await self.http.post("/upload/image", files=files, data={"type": "input", "overwrite": "true"})
        _raise_for_status(response)
        body = response.json()
        return f"{body['subfolder']}/{body['name']}" if body.get("subfolder") else str(body["name"])

    async def download(self, ref: FileRef, dest: Path) -> None:
        """GET /view of an output into `dest`, refusing files over MAX_OUTPUT_MB."""
        limit = self.settings.max_output_bytes
        async with self.http.stream("GET", "/view", params=ref.view_params()) as response:
            if response.status_code != 200:
                await response.aread()
                _raise_for_status(response)
            if int(response.headers.get("content-length") or 0) > limit:
                raise _too_large(ref, limit)
            await write_capped(response, dest, limit, lambda: _too_large(ref, limit))

    async def system_stats(self) -> object:
        """GET /system_stats (the health check): the JSON answer, whatever its shape."""
        response = await self.http.get("/system_stats", timeout=self.settings.READY_TIMEOUT_S)
        _raise_for_status(response)
        return response.json()

    async def _open_ws(self, client_id: str) -> ClientConnection | None:
        if not self.settings.USE_WEBSOCKET:
            return None
        url = ws_url(self.base_url, client_id)
        try:
            return await connect(url, open_timeout=self.settings.WS_OPEN_TIMEOUT_S, max_size=WS_MAX_FRAME,
                                 close_timeout=2, proxy=None, compression=None)
        except (OSError, TimeoutError, InvalidHandshake, InvalidURI) as exc:
            logger.info("comfyui {}: no WebSocket ({!r}); polling /history instead", self.base_url, exc)
            return None

    async def _follow(self, ws: ClientConnection, prompt_id: str, progress: Progress | None) -> bool:
        """Read events until our prompt finishes (True); return False early (to poll) if the socket drops."""
        try:
            async for raw in ws:
                if isinstance(raw, bytes):  # a preview image
                    continue
                try:
                    message = json.loads(raw)
                except ValueError:
                    continue
                event = read_ws_event(message, prompt_id) if isinstance(message, dict) else None
                if event is None:
                    continue
                if event.done:
                    return True
                note_running(event.step, event.total)
                if event.progress is not None and progress is not None:
                    progress(event.progress)
        except ConnectionClosed as exc:
            logger.info("comfyui {}: WebSocket dropped ({!r}); polling /history", self.base_url, exc)
            return False
        logger.info("comfyui {}: WebSocket closed before prompt {} ended; polling /history", self.base_url, prompt_id)
        return False

    async def _wait_history(self, prompt_id: str, finished: Callable[[], None] | None = None) -> dict[str, Any]:
        """Read /history until the prompt is there (soon after it ends, see Pacer); raise its failure if it failed."""
        failures = 0
        pacer = Pacer(self.settings.POLL_INTERVAL_S)
        while True:
            try:
                entry = await self.history(prompt_id)
                failures = 0
            except (httpx.TransportError, TransientBackendError):
                failures += 1
                if failures >= POLL_FAILURES:
                    raise
                entry = None
            if entry is not None:
                if finished is not None:
                    finished()
                failure = history_failure(entry)
                if failure is not None:
                    raise failure
                return entry
            await asyncio.sleep(pacer.next_s())


def _raise_for_status(response: httpx.Response) -> None:
    if response.status_code >= 400:
        text = " ".join(response.text.split())[:300]
        raise http_status_error(BACKEND, response.status_code, text or f"HTTP {response.status_code}")


def _too_large(ref: FileRef, limit: int) -> TerminalBackendError:
    return TerminalBackendError(BACKEND, "output_too_large", f"{ref.filename} is over {limit // 2**20} MB")


async def probe_host(client: ComfyClient) -> str | None:
    """None when the client's host answers /system_stats, else why it does not."""
    try:
        stats = await client.system_stats()
    except httpx.HTTPError as exc:
        return type(exc).__name__
    except TransientBackendError as exc:
        return exc.message
    except (TerminalBackendError, ValueError) as exc:
        return str(exc)[:200]
    return None if isinstance(stats, dict) and "system" in stats else "no system_stats"
