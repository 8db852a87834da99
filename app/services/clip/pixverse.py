"""Pixverse image-to-video (platform API v2): upload the keyframe, create the task, poll, download, fit.

Wire protocol (docs.platform.pixverse.ai; see docs/backends/pixverse.md):
  POST /openapi/v2/image/upload        multipart `image`            → Resp.img_id
  POST /openapi/v2/video/img/generate  JSON {img_id, model, prompt, duration, quality, seed, …} → Resp.video_id
  GET  /openapi/v2/video/result/{id}   → Resp.status: 1 done (Resp.url), 5 generating, 7 moderated, 8 failed
  GET  /openapi/v2/account/balance     readiness
Every request carries `API-KEY` and a fresh `Ai-trace-id` (uuid4: the API refuses reused ids). Every
answer is `{ErrCode, ErrMsg, Resp}`; ErrCode ≠ 0 is a failure even on HTTP 200.
"""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any

import httpx
from loguru import logger

from app.core.errors import BackendError, TerminalBackendError, TransientBackendError, describe
from app.core.settings import Settings
from app.core.settings.vendors import PixverseSettings
from app.services.backend import Readiness
from app.services.clip.base import ClipRequest
from app.services.clip.pixverse_errors import envelope_error, status_error
from app.services.clip.vendor_task import VendorTaskAnimator
from app.services.http_transport import transport_errors

NAME = "pixverse"
UPLOAD_PATH = "/openapi/v2/image/upload"
GENERATE_PATH = "/openapi/v2/video/img/generate"
RESULT_PATH = "/openapi/v2/video/result/{video_id}"
BALANCE_PATH = "/openapi/v2/account/balance"
STATUS_SUCCEEDED, STATUS_GENERATING = 1, 5
MAX_PROMPT_CHARS = 2048
MAX_SEED = 2_147_483_647


def pick_duration(requested: float, offered: list[int]) -> int:
    """The shortest offered clip length that covers `requested` seconds, else the longest one."""
    ordered = sorted(offered) or [5]
    return next((d for d in ordered if d >= requested), ordered[-1])


def generate_body(request: ClipRequest, img_id: int, cfg: PixverseSettings) -> dict[str, Any]:
    """The img2video JSON body for a shot (English prompt when the planner wrote one)."""
    offered = [int(d) for d in cfg.DURATIONS.split(",") if d.strip()]
    body: dict[str, Any] = {
        "img_id": img_id,
        "model": cfg.MODEL,
        "prompt": (request.prompts.get("en") or request.prompt).strip()[:MAX_PROMPT_CHARS],
        "duration": pick_duration(request.duration, offered),
        "quality": cfg.QUALITY,
        "seed": request.seed % (MAX_SEED + 1),
    }
    if cfg.NEGATIVE_PROMPT:
        body["negative_prompt"] = cfg.NEGATIVE_PROMPT[:MAX_PROMPT_CHARS]
    if cfg.MOTION_MODE:
        body["motion_mode"] = cfg.MOTION_MODE
    return body


def image_type(path: Path) -> str:
    """The MIME type Pixverse accepts for a keyframe file (png, jpeg or webp)."""
    suffix = path.suffix.lower().lstrip(".")
    return {"jpg": "image/jpeg", "jpeg": "image/jpeg", "webp": "image/webp"}.get(suffix, "image/png")


class PixverseAnimator(VendorTaskAnimator[PixverseSettings]):
    """Clip backend on the Pixverse platform API; `animate` writes a silent H.264 clip fitted to the shot.

    `animate` raises:
        TerminalBackendError: moderation (ErrCode 500054/500063, status 7), failed generation (status 8),
            invalid input, no credits — never retried.
        TransientBackendError: rate limits, 5xx, timeouts after the retries; `timeout` when the task
            is not done within PIXVERSE_TASK_TIMEOUT_S.
    """

    backend = NAME

    def task_timeout_s(self) -> float:
        return self.cfg.TASK_TIMEOUT_S

    async def ready(self) -> Readiness:
        """Ready when the API key is set and the balance endpoint accepts it."""
        if self.cfg.API_KEY is None:
            return Readiness(ready=False, detail="PIXVERSE_API_KEY is not set")
        try:
            resp = await self._call(self._client, "GET", BALANCE_PATH)
        except (BackendError, httpx.HTTPError) as exc:
            return Readiness(ready=False, detail=describe(exc))
        credits = sum(int(resp.get(k) or 0) for k in ("credit_monthly", "credit_package"))
        return Readiness(ready=True, detail=f"{self.cfg.MODEL}; {credits} credits")

    async def _produce(self, request: ClipRequest, raw: Path) -> None:
        if self.cfg.API_KEY is None:
            raise TerminalBackendError(NAME, "not_configured", "PIXVERSE_API_KEY is not set")
        client = self._client
        img_id = await self._upload(client, request.keyframe_path)
        body = generate_body(request, img_id, self.cfg)
        created = await self._request(lambda: self._call(client, "POST", GENERATE_PATH, json=body))
        video_id = _field(created, "video_id")
        logger.info("pixverse video {} created ({} s, {}, {})", video_id, body["duration"], body["model"],
                    body["quality"])
        url = await self._wait(client, video_id)
        await self._download(url, raw)

    async def _upload(self, client: httpx.AsyncClient, keyframe: Path) -> int:
        data = await asyncio.to_thread(keyframe.read_bytes)
        files = {"image": (keyframe.name, data, image_type(keyframe))}
        resp = await self._request(lambda: self._call(client, "POST", UPLOAD_PATH, files=files))
        img_id = _field(resp, "img_id")
        if not isinstance(img_id, int):
            raise TransientBackendError(NAME, "bad_response", f"Resp.img_id is not a number: {img_id!r}")
        return img_id

    async def _wait(self, client: httpx.AsyncClient, video_id: Any) -> str:
        path = RESULT_PATH.format(video_id=video_id)
        while True:
            resp = await self._request(lambda: self._call(client, "GET", path))
            status = resp.get("status")
            if status == STATUS_SUCCEEDED:
                return str(resp.get("url") or "")
            error = status_error(NAME, status, video_id)
            if error:
                raise error
            await asyncio.sleep(self.cfg.POLL_INTERVAL_S)

    async def _call(self, client: httpx.AsyncClient, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        """One request with a fresh trace id; returns `Resp` or raises the error the envelope describes."""
        with transport_errors(NAME):
            response = await client.request(method, path, headers={"Ai-trace-id": str(uuid.uuid4())}, **kwargs)
        try:
            body = response.json()
        except ValueError:
            body = None
        error = envelope_error(NAME, response.status_code, body, response.text[:300])
        if error:
            raise error
        return body.get("Resp") or {}

    def _new_client(self) -> httpx.AsyncClient:
        key = self.cfg.API_KEY.get_secret_value() if self.cfg.API_KEY else ""
        return httpx.AsyncClient(base_url=self.cfg.BASE_URL.rstrip("/"), headers={"API-KEY": key},
                                 timeout=self.cfg.REQUEST_TIMEOUT_S)


def _field(resp: dict[str, Any], name: str) -> Any:
    if resp.get(name) in (None, ""):
        raise TransientBackendError(NAME, "bad_response", f"the answer has no Resp.{name}")
    return resp[name]


def create(settings: Settings) -> PixverseAnimator:
    """The Pixverse clip backend, from PIXVERSE_* settings (encoder settings from the main settings)."""
    return PixverseAnimator(settings.pixverse, crf=settings.compose.crf, preset=settings.compose.preset,
                            ffmpeg_timeout_s=settings.compose.timeout_s)
