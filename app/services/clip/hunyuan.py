"""Client of our HunyuanVideo-1.5 I2V server (HunyuanVideo-1.5/api.py): submit, poll, download, fit.

  POST /v1/jobs                {image (base64), prompt, negative_prompt, num_frames (4k+1), steps?, seed}
                               → 202 {job_id, status, …}; 429 queue_full; 503 model_loading; 422 invalid input
  GET  /v1/jobs/{id}           queued / running (progress) / succeeded (result.url) / failed (error.code, .message)
  GET  /v1/jobs/{id}/video     the MP4 (24 fps)
  GET  /health                 status ok (200) | loading | error (503), model.name, device, error
"""

from __future__ import annotations

import asyncio
import base64
import math
from collections.abc import Awaitable
from pathlib import Path
from typing import Any

import httpx
from loguru import logger

from app.core.errors import TerminalBackendError, TransientBackendError, describe
from app.core.settings import Settings
from app.core.settings.vendors import HunyuanSettings
from app.services.backend import Readiness
from app.services.clip.base import ClipRequest
from app.services.clip.vendor_task import VendorTaskAnimator
from app.services.http_transport import transport_errors
from app.services.local_server import raise_for_error

NAME = "hunyuan"
#: job failures worth another try: the server restarted while the job was queued or running
TRANSIENT_JOB_CODES = {"interrupted"}


def frames_for(duration: float, fps: int, max_frames: int) -> int:
    """The 4k+1 frame count covering `duration` s at `fps`: at least 5, at most `max_frames` (taken down to 4k+1)."""
    needed = max(math.ceil(duration * fps - 1e-6), 1)
    frames = 4 * max(math.ceil((needed - 1) / 4), 1) + 1
    cap = 4 * ((max_frames - 1) // 4) + 1
    return max(min(frames, cap), 5)


def job_body(request: ClipRequest, image: bytes, cfg: HunyuanSettings) -> dict[str, Any]:
    """The POST /v1/jobs body (the size is left to the server's bucket for the image's aspect ratio)."""
    body: dict[str, Any] = {
        "image": base64.b64encode(image).decode(),
        "prompt": (request.prompts.get("en") or request.prompt).strip(),
        "negative_prompt": cfg.NEGATIVE_PROMPT,
        "num_frames": frames_for(request.duration, cfg.FPS, cfg.MAX_FRAMES),
        "seed": request.seed,
    }
    if cfg.STEPS is not None:
        body["steps"] = cfg.STEPS
    return body


def job_failure(job: dict[str, Any]) -> TerminalBackendError | TransientBackendError:
    """The error a failed job reports."""
    error = job.get("error") or {}
    code, message = str(error.get("code") or "job_failed"), str(error.get("message") or "the job failed")
    kind = TransientBackendError if code in TRANSIENT_JOB_CODES else TerminalBackendError
    return kind(NAME, code, message)


class HunyuanAnimator(VendorTaskAnimator[HunyuanSettings]):
    """Clip backend on our HunyuanVideo-1.5 server; `animate` writes a silent H.264 clip fitted to the shot.

    `animate` raises:
        TerminalBackendError: the server refused the input (422/413) or the job failed (its code/message).
        TransientBackendError: queue full (429), model loading (503), 5xx or timeouts after the retries;
            `timeout` when the job is not done within HUNYUAN_JOB_TIMEOUT_S.
    """

    backend = NAME

    def task_timeout_s(self) -> float:
        return self.cfg.JOB_TIMEOUT_S

    async def ready(self) -> Readiness:
        """Ready when /health says the model is loaded (it answers 503 with the same report while it is not)."""
        try:
            response = await self._client.get("/health")
            health = (response if response.status_code == 503 else raise_for_error(NAME, response)).json()
        except (httpx.HTTPError, TerminalBackendError, TransientBackendError, ValueError) as exc:
            return Readiness(ready=False, detail=f"{self.cfg.BASE_URL}/health: {describe(exc)}")
        model = health.get("model") or {}
        if health.get("status") == "ok":
            return Readiness(ready=True, detail=f"{model.get('name', 'model')} loaded on {health.get('device')}")
        error = health.get("error") or {}
        return Readiness(ready=False, detail=error.get("message") or f"model {health.get('status', 'unknown')}")

    async def _produce(self, request: ClipRequest, raw: Path) -> None:
        image = await asyncio.to_thread(request.keyframe_path.read_bytes)
        body = job_body(request, image, self.cfg)
        client = self._client
        created = await self._request(lambda: self._json(client.post("/v1/jobs", json=body)))
        job_id = created["job_id"]
        logger.info("hunyuan job {} queued ({} frames)", job_id, body["num_frames"])
        await self._wait(client, job_id)
        video_url = f"{self.cfg.BASE_URL.rstrip('/')}/v1/jobs/{job_id}/video"  # the server's own, same base
        await self._download(video_url, raw)

    async def _wait(self, client: httpx.AsyncClient, job_id: str) -> None:
        while True:
            job = await self._request(lambda: self._json(client.get(f"/v1/jobs/{job_id}")))
            if job.get("status") == "succeeded":
                return
            if job.get("status") == "failed":
                raise job_failure(job)
            await asyncio.sleep(self.cfg.POLL_INTERVAL_S)

    async def _json(self, pending: Awaitable[httpx.Response]) -> dict[str, Any]:
        with transport_errors(NAME):
            response = await pending
        body = raise_for_error(NAME, response).json()
        if not isinstance(body, dict):
            raise TransientBackendError(NAME, "bad_response", f"the answer is not a JSON object: {response.text[:200]}")
        return body

    def _new_client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.cfg.BASE_URL.rstrip("/"), timeout=self.cfg.REQUEST_TIMEOUT_S)



def create(settings: Settings) -> HunyuanAnimator:
    """The HunyuanVideo-1.5 clip backend, from HUNYUAN_* settings (encoder settings from the main settings)."""
    return HunyuanAnimator(settings.hunyuan, crf=settings.compose.crf, preset=settings.compose.preset,
                           ffmpeg_timeout_s=settings.compose.timeout_s)
