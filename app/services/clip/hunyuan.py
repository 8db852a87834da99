"""Client of our HunyuanVideo-1.5 I2V servers (HunyuanVideo-1.5/api.py): submit, poll, download, fit.

  POST /v1/jobs                {image (base64), prompt, negative_prompt, num_frames (4k+1), steps?, seed}
                               → 202 {job_id, status, …}; 429 queue_full; 503 model_loading; 422 invalid input
  GET  /v1/jobs/{id}           queued / running (progress) / succeeded (result.url) / failed (error.code, .message)
  GET  /v1/jobs/{id}/video     the MP4 (24 fps)
  GET  /health                 status ok (200) | loading | error (503), model.name, device, error

A server runs one job at a time and its job ids are its own, so the backend knows every server
(HUNYUAN_BASE_URLS, or the one HUNYUAN_BASE_URL) and leases one per clip from the process's host pool
(scheduling.HostPool, as ComfyUI does): the clip holds the host from submit until the job ends, then
downloads the video and fits it with the host already free. A transient failure on a host (down, 5xx,
interrupted, timed out) cools that host down for HUNYUAN_HOST_COOLDOWN_S and moves the clip to a host it
has not tried yet. The job's step count goes to the shot's progress, and the poll waits for the job's
estimated end (polling.Pacer), so a finished job is seen soon.
"""

from __future__ import annotations

import asyncio
import base64
import math
from collections.abc import Awaitable
from functools import partial
from pathlib import Path
from typing import Any

import httpx
from loguru import logger

from app.core.errors import TerminalBackendError, TransientBackendError, describe
from app.core.settings import Settings
from app.core.settings.vendors import HunyuanSettings
from app.services.backend import Readiness, hosts_readiness
from app.services.clip.base import ClipRequest
from app.services.clip.vendor_task import VendorTaskAnimator
from app.services.local_server import json_object, raise_for_error
from app.services.polling import Pacer
from app.services.scheduling import host_pool, note_running, note_waiting

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
    """Clip backend on our HunyuanVideo-1.5 servers; `animate` writes a silent H.264 clip fitted to the shot.

    `animate` raises:
        TerminalBackendError: the server refused the input (422/413) or the job failed (its code/message).
        TransientBackendError: queue full (429), model loading (503), 5xx or timeouts after the retries on
            every host tried; `timeout` when a job is not done within HUNYUAN_JOB_TIMEOUT_S; `hosts_busy`
            when no host frees up within HUNYUAN_HOST_WAIT_S.
    """

    backend = NAME

    def __init__(self, cfg: HunyuanSettings, *, crf: int = 23, preset: str = "veryfast",
                 ffmpeg_timeout_s: float = 600.0):
        self.hosts = cfg.host_urls
        super().__init__(cfg, crf=crf, preset=preset, ffmpeg_timeout_s=ffmpeg_timeout_s)
        self._clients = {host: self._client if host == self.hosts[0] else self._client_for(host)
                         for host in self.hosts}

    def task_timeout_s(self) -> float:
        return self.cfg.JOB_TIMEOUT_S

    async def ready(self) -> Readiness:
        """Ready when every server's /health says its model is loaded; the detail names each server."""
        states = await asyncio.gather(*(self._health(host) for host in self.hosts))
        return hosts_readiness("HunyuanVideo", dict(zip(self.hosts, states, strict=True)))

    async def _health(self, host: str) -> Readiness:
        """One server's /health (it answers 503 with the same report while the model is not loaded)."""
        try:
            response = await self._clients[host].get("/health")
            health = (response if response.status_code == 503 else raise_for_error(NAME, response)).json()
        except (httpx.HTTPError, TerminalBackendError, TransientBackendError, ValueError) as exc:
            return Readiness(ready=False, detail=describe(exc))
        model = health.get("model") or {}
        if health.get("status") == "ok":
            return Readiness(ready=True, detail=f"{model.get('name', 'model')} loaded on {health.get('device')}")
        error = health.get("error") or {}
        return Readiness(ready=False, detail=error.get("message") or f"model {health.get('status', 'unknown')}")

    async def _generate(self, request: ClipRequest, raw: Path) -> None:
        """`_produce` applies the task policy itself: its timeout bounds each job on a host, not the wait for one."""
        await self._produce(request, raw)

    async def _produce(self, request: ClipRequest, raw: Path) -> None:
        """Run the job on a leased host (within a slot of HUNYUAN_CONCURRENCY, 0 = none), then download its video
        from that host with the host already given back."""
        image = await asyncio.to_thread(request.keyframe_path.read_bytes)
        body = job_body(request, image, self.cfg)
        async with self._task.slot():
            host, job_id = await self._run_on_a_host(body)
        await self._download(f"{host}/v1/jobs/{job_id}/video", raw)  # the server's own, same base

    async def _run_on_a_host(self, body: dict[str, Any]) -> tuple[str, str]:
        """(host, job id) of the job run to success on a leased host; after a transient failure the host cools
        down and the job moves to a host not tried yet, while there is one."""
        untried = list(self.hosts)
        while True:
            async with host_pool().lease(untried, wait_s=self.cfg.HOST_WAIT_S, backend=NAME,
                                         label="HunyuanVideo") as lease:
                untried.remove(lease.host)
                try:
                    return lease.host, await self._task.bounded(partial(self._run_job, lease.host, body))
                except TransientBackendError as exc:
                    lease.fail(self.cfg.HOST_COOLDOWN_S)
                    if not untried:
                        raise
                    logger.warning("hunyuan {} failed ({}); trying another host", lease.host, describe(exc))

    async def _run_job(self, host: str, body: dict[str, Any]) -> str:
        """Submit the job to `host` and wait until it succeeded; its id."""
        client = self._clients[host]
        created = await self._request(lambda: self._json(client.post("/v1/jobs", json=body)))
        job_id = str(created["job_id"])
        logger.info("hunyuan job {} queued on {} ({} frames)", job_id, host, body["num_frames"])
        await self._wait(client, job_id)
        return job_id

    async def _wait(self, client: httpx.AsyncClient, job_id: str) -> None:
        pacer = Pacer(self.cfg.POLL_INTERVAL_S)
        while True:
            job = await self._request(lambda: self._json(client.get(f"/v1/jobs/{job_id}")))
            if job.get("status") == "succeeded":
                return
            if job.get("status") == "failed":
                raise job_failure(job)
            step, total = job_progress(job)
            if job.get("status") == "queued":
                note_waiting()  # behind another client's job on this server
            else:
                note_running(step, total)
            await asyncio.sleep(pacer.next_s(step, total))

    async def _json(self, pending: Awaitable[httpx.Response]) -> dict[str, Any]:
        return await json_object(NAME, pending)

    def _new_client(self) -> httpx.AsyncClient:
        return self._client_for(self.hosts[0])

    def _client_for(self, host: str) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=host, timeout=self.cfg.REQUEST_TIMEOUT_S)

    async def aclose(self) -> None:
        for client in self._clients.values():
            if client is not self._client:
                await client.aclose()
        await super().aclose()


def job_progress(job: dict[str, Any]) -> tuple[int | None, int | None]:
    """(step, total) of a job's `progress`, or (None, None) when it reports none."""
    progress = job.get("progress")
    if not isinstance(progress, dict):
        return None, None
    step, total = progress.get("step"), progress.get("total")
    if isinstance(step, int) and isinstance(total, int) and total > 0:
        return min(max(step, 0), total), total
    return None, None


def create(settings: Settings) -> HunyuanAnimator:
    """The HunyuanVideo-1.5 clip backend, from HUNYUAN_* settings (encoder settings from the main settings)."""
    return HunyuanAnimator(settings.hunyuan, crf=settings.compose.crf, preset=settings.compose.preset,
                           ffmpeg_timeout_s=settings.compose.timeout_s)
