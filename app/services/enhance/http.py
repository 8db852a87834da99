"""Client of our video_enhance service (video_enhance/video_api): upload, poll, download.

  POST /v1/jobs?scale=S&multi=M   body: the clip's MP4 bytes (video/mp4) → 202 {job_id, status, …};
                                  429 queue_full; 413/422 input refused (too long, too large, output too large)
  GET  /v1/jobs/{id}              queued / running (stage, progress) / succeeded (result {url, width, height, fps,
                                  engines, degraded}) / failed (error {code, message})
  GET  /v1/jobs/{id}/result       the enhanced MP4 (the clip's own sound muxed back, the clip's length)
  GET  /health                    status ok, model.engines, device

The clip is uploaded, never sent by URL: the service fetches URLs only from its allow-listed hosts, and
uploading works wherever the service runs. The service takes factors of 1, 2 or 4, so each is the least
that reaches the target, within the output limits its /health announces; the composition fits the result
(larger or smaller) to the film.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from pathlib import Path
from typing import Any

import httpx
from loguru import logger

from app.core.errors import TerminalBackendError, TransientBackendError, describe
from app.core.settings import Settings
from app.core.settings.base import CallPolicy
from app.core.settings.enhance import EnhanceSettings
from app.services.backend import PolicedCaller, Readiness
from app.services.enhance.base import EnhanceRequest, EnhanceResult
from app.services.http_transport import transport_errors
from app.services.local_server import json_object, raise_for_error
from app.services.media_fetch import download, media_client

NAME = "http"
#: The factors the service accepts for `scale` and `multi`.
FACTORS = (1, 2, 4)


def service_factor(have: float, want: float) -> int:
    """The least factor the service accepts that takes `have` to at least `want` (else the largest)."""
    return next((f for f in FACTORS if have * f >= want - 1e-6), FACTORS[-1])


def job_params(request: EnhanceRequest, limits: dict[str, Any] | None = None) -> dict[str, int]:
    """The service's `scale` and `multi` for a request: the least that reach the target, lowered while the
    output would pass the limits the service announces in /health (the composition scales the rest)."""
    limits = limits or {}
    scale = max(service_factor(request.width, request.target_width),
                service_factor(request.height, request.target_height))
    multi = service_factor(request.fps, request.target_fps)
    max_pixels, max_fps = limits.get("max_output_pixels"), limits.get("max_output_fps")
    while scale > 1 and isinstance(max_pixels, int | float) and request.width * request.height * scale**2 > max_pixels:
        scale = FACTORS[FACTORS.index(scale) - 1]
    while multi > 1 and isinstance(max_fps, int | float) and request.fps * multi > max_fps:
        multi = FACTORS[FACTORS.index(multi) - 1]
    return {"scale": scale, "multi": multi}


def job_failure(job: dict[str, Any]) -> TerminalBackendError:
    error = job.get("error") or {}
    return TerminalBackendError(NAME, str(error.get("code") or "job_failed"),
                                str(error.get("message") or "the enhancement job failed"))


class HttpEnhancer:
    """Enhance backend on the video_enhance service at ENHANCE_URL.

    `enhance` raises:
        TerminalBackendError: the service refused the clip (413/422: too long, too large, output too large…),
            or its job failed (the job's code and message).
        TransientBackendError: queue full (429), 5xx, connection failures and timeouts after the retries;
            `timeout` when the whole shot takes longer than ENHANCE_TIMEOUT_S.
    """

    def __init__(self, cfg: EnhanceSettings):
        self.cfg = cfg
        self.base_url = cfg.URL.strip().rstrip("/")
        self._task = PolicedCaller(NAME, CallPolicy(concurrency=cfg.CONCURRENCY, timeout_s=cfg.TIMEOUT_S, retries=0))
        self._request = PolicedCaller(NAME, cfg.call_policy(timeout_s=cfg.REQUEST_TIMEOUT_S, concurrency=1000))
        self._client = httpx.AsyncClient(base_url=self.base_url, timeout=cfg.REQUEST_TIMEOUT_S)
        self._media = media_client(cfg.REQUEST_TIMEOUT_S)
        self._known_limits: dict[str, Any] | None = None

    async def enhance(self, request: EnhanceRequest, out_path: Path) -> EnhanceResult:
        if not self.base_url:
            raise TerminalBackendError(NAME, "not_configured", "ENHANCE_URL is not set")
        return await self._task(lambda: self._run(request, out_path))

    async def _run(self, request: EnhanceRequest, out_path: Path) -> EnhanceResult:
        params = job_params(request, await self._limits())
        clip = await asyncio.to_thread(request.clip_path.read_bytes)
        client = self._client
        created = await self._request(lambda: self._json(client.post(
            "/v1/jobs", params=params, content=clip, headers={"content-type": "video/mp4"})))
        job_id = str(created["job_id"])
        logger.info("video_enhance job {} queued (scale {}, multi {})", job_id, params["scale"], params["multi"])
        job = await self._wait(client, job_id)
        await self._request(lambda: download(f"{self.base_url}/v1/jobs/{job_id}/result", out_path, backend=NAME,
                                             max_bytes=self.cfg.MAX_DOWNLOAD_BYTES,
                                             timeout_s=self.cfg.REQUEST_TIMEOUT_S, client=self._media))
        result = job.get("result") or {}
        engines = result.get("engines") or {}
        method = ";".join(f"{k}={v}" for k, v in sorted(engines.items())) or "video_enhance"
        if result.get("degraded"):
            method += " (a GPU engine failed; FFmpeg stood in)"
        return EnhanceResult(width=int(result.get("width") or request.width * params["scale"]),
                             height=int(result.get("height") or request.height * params["scale"]),
                             fps=float(result.get("fps") or request.fps * params["multi"]), method=method)

    async def _limits(self) -> dict[str, Any]:
        """The service's announced limits (GET /health `limits`), asked once; none known if it does not say."""
        if self._known_limits is None:
            health = await self._request(lambda: self._json(self._client.get("/health")))
            limits = health.get("limits")
            self._known_limits = limits if isinstance(limits, dict) else {}
        return self._known_limits

    async def _wait(self, client: httpx.AsyncClient, job_id: str) -> dict[str, Any]:
        while True:
            job = await self._request(lambda: self._json(client.get(f"/v1/jobs/{job_id}")))
            if job.get("status") == "succeeded":
                return job
            if job.get("status") == "failed":
                raise job_failure(job)
            await asyncio.sleep(self.cfg.POLL_INTERVAL_S)

    async def _json(self, pending: Awaitable[httpx.Response]) -> dict[str, Any]:
        return await json_object(NAME, pending)

    async def ready(self) -> Readiness:
        """Ready when the service's /health says ok."""
        if not self.base_url:
            return Readiness(ready=False, detail="ENHANCE_URL is not set")
        try:
            with transport_errors(NAME):
                response = await self._client.get("/health", timeout=5.0)
            health = (response if response.status_code == 503 else raise_for_error(NAME, response)).json()
        except (TerminalBackendError, TransientBackendError, ValueError) as exc:
            return Readiness(ready=False, detail=f"{self.base_url}/health: {describe(exc)}")
        engines = (health.get("model") or {}).get("engines") or {}
        described = ", ".join(f"{k} {v}" for k, v in sorted(engines.items()))
        if health.get("status") == "ok":
            return Readiness(ready=True, detail=f"video_enhance ({described}) on {health.get('device')}")
        error = health.get("error") or {}
        return Readiness(ready=False, detail=error.get("message") or f"video_enhance {health.get('status')}")

    async def aclose(self) -> None:
        await self._client.aclose()
        await self._media.aclose()


def create(settings: Settings) -> HttpEnhancer:
    """The video_enhance client, from ENHANCE_* settings."""
    return HttpEnhancer(settings.enhance)
