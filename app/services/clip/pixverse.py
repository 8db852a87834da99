"""Pixverse image-to-video (platform API v2): upload the keyframe, create the task, poll, download, fit.

Wire protocol (docs.platform.pixverse.ai; see docs/backends/pixverse.md):
  POST /openapi/v2/image/upload        multipart `image`            → Resp.img_id
  POST /openapi/v2/video/img/generate  JSON {img_id, model, prompt, duration, quality, seed, …} → Resp.video_id
  GET  /openapi/v2/video/result/{id}   → Resp.status: 1 done (Resp.url), 5 generating, 7 moderated, 8 failed
  GET  /openapi/v2/account/balance     readiness
Every request carries `API-KEY` and an `Ai-trace-id` (a uuid4). PixVerse treats the trace id as an idempotency key:
a request with a trace id it has seen answers the earlier result instead of starting a new generation. So one
generate keeps its trace id through its retries while their outcome is unknown (a timeout, a dropped connection, a
5xx without an ErrCode: PixVerse may have accepted it and billed the video), and takes a new one only after PixVerse
answered an ErrCode (the video was not started). Polls, uploads and balance reads use a fresh id each: a replayed
poll would repeat a stale status forever. Every answer is `{ErrCode, ErrMsg, Resp}`; ErrCode ≠ 0 is a failure even
on HTTP 200.

Quality, clip length and motion mode are checked when the backend is built [docs.platform.pixverse.ai image-to-video
and extend pages: "duration 5, 8 — 1080p doesn't support 8"; "motion_mode fast only allows 5 s; 1080p doesn't
support fast"]: a combination PixVerse refuses is a ConfigurationError, never a paid-for failed call.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from loguru import logger

from app.core.errors import BackendError, ConfigurationError, TerminalBackendError, TransientBackendError, describe
from app.core.settings import Settings
from app.core.settings.vendors import PixverseSettings
from app.services.backend import Readiness
from app.services.clip.base import ClipRequest
from app.services.clip.pixverse_errors import envelope_error, has_errcode, status_error
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
QUALITIES = ("360p", "540p", "720p", "1080p")
MOTION_MODES = ("", "normal", "fast")
#: clip lengths per model when PIXVERSE_DURATIONS is empty (v5.5 and later add 10 s)
MODEL_DURATIONS = {"v5.5": (5, 8, 10), "v5.6": (5, 8, 10)}
DEFAULT_DURATIONS = (5, 8)


def offered_durations(cfg: PixverseSettings) -> list[int]:
    """The clip lengths this configuration may ask for; ConfigurationError when PixVerse would refuse the
    combination (1080p takes neither 8 s clips nor fast motion; fast motion takes 5 s clips only)."""
    quality, motion = cfg.QUALITY, cfg.MOTION_MODE
    if quality not in QUALITIES:
        raise ConfigurationError(f"PIXVERSE_QUALITY must be one of {', '.join(QUALITIES)}, not {quality!r}")
    if motion not in MOTION_MODES:
        raise ConfigurationError(f"PIXVERSE_MOTION_MODE must be normal, fast or empty, not {motion!r}")
    if motion == "fast" and quality == "1080p":
        raise ConfigurationError("PIXVERSE_MOTION_MODE=fast is not offered at PIXVERSE_QUALITY=1080p")
    if cfg.DURATIONS.strip():
        try:
            durations = sorted({int(d) for d in cfg.DURATIONS.split(",") if d.strip()})
        except ValueError as exc:
            raise ConfigurationError(f"PIXVERSE_DURATIONS must list whole seconds: {exc}") from exc
        if quality == "1080p" and 8 in durations:
            raise ConfigurationError("PIXVERSE_QUALITY=1080p makes no 8 s clips: drop 8 from PIXVERSE_DURATIONS")
        if motion == "fast" and durations != [5]:
            raise ConfigurationError("PIXVERSE_MOTION_MODE=fast makes 5 s clips only: set PIXVERSE_DURATIONS=5")
        return durations
    if quality == "1080p" or motion == "fast":
        return [5]
    return list(MODEL_DURATIONS.get(cfg.MODEL, DEFAULT_DURATIONS))


def new_trace_id() -> str:
    return str(uuid.uuid4())


@dataclass
class GenerateTrace:
    """The Ai-trace-id of one generate across its retries (PixVerse's idempotency key): kept while an attempt's
    outcome is unknown, renewed once PixVerse answered an ErrCode (then nothing was started)."""

    value: str = field(default_factory=new_trace_id)

    def refused(self) -> None:
        self.value = new_trace_id()


def pick_duration(requested: float, offered: list[int]) -> int:
    """The shortest offered clip length that covers `requested` seconds, else the longest one."""
    ordered = sorted(offered) or [5]
    return next((d for d in ordered if d >= requested), ordered[-1])


def generate_body(request: ClipRequest, img_id: int, cfg: PixverseSettings) -> dict[str, Any]:
    """The img2video JSON body for a shot (English prompt when the planner wrote one)."""
    offered = offered_durations(cfg)
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

    def __init__(self, cfg: PixverseSettings, *, crf: int = 23, preset: str = "veryfast",
                 ffmpeg_timeout_s: float = 600.0):
        offered_durations(cfg)  # a combination PixVerse refuses fails here, before any paid call
        super().__init__(cfg, crf=crf, preset=preset, ffmpeg_timeout_s=ffmpeg_timeout_s)

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
        trace = GenerateTrace()  # one generate, one trace id through its retries: billed once
        created = await self._request(lambda: self._call(client, "POST", GENERATE_PATH, json=body, trace=trace))
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

    async def _call(self, client: httpx.AsyncClient, method: str, path: str, *, trace: GenerateTrace | None = None,
                    **kwargs: Any) -> dict[str, Any]:
        """One request, with `trace`'s id (a generate) or a fresh one; returns `Resp` or raises the error the
        envelope describes. An ErrCode answer renews `trace`: PixVerse started nothing under that id."""
        trace_id = trace.value if trace is not None else new_trace_id()
        with transport_errors(NAME):
            response = await client.request(method, path, headers={"Ai-trace-id": trace_id}, **kwargs)
        try:
            body = response.json()
        except ValueError:
            body = None
        error = envelope_error(NAME, response.status_code, body, response.text[:300])
        if error:
            if trace is not None and has_errcode(body):
                trace.refused()
            raise error
        return dict(body.get("Resp") or {}) if isinstance(body, dict) else {}

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
