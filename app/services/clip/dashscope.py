"""Clips from DashScope wan image-to-video: the keyframe goes up as a data URI (or a URL from our object store),
one async task per shot, the result downloaded at once and fitted to the request with one FFmpeg call
(the shared `app.services.clip.fit`: trimmed or held on its last frame, cover-scaled, fps, no audio)."""

from __future__ import annotations

import asyncio
import base64
import io
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dashscope import VideoSynthesis
from PIL import Image, UnidentifiedImageError

from app.core.errors import ConfigurationError, TerminalBackendError
from app.core.settings import Settings
from app.core.settings.dashscope import DashScopeSettings, DashScopeVideoSettings
from app.services.backend import PolicedCaller, Readiness, binary_readiness
from app.services.clip.base import ClipRequest
from app.services.clip.fit import generate_and_fit
from app.services.dashscope_common import DashScopeClient
from app.services.media_fetch import check_media_url
from app.services.publish.base import ObjectStore

BACKEND = "dashscope-i2v"
SEED_MAX = 2_147_483_647
#: The prompt length each model reads (the vendor cuts, never refuses, past it) [doc: image-to-video API reference:
#: 800 characters; wan2.5/wan2.6 2000].
PROMPT_MAX_CHARS = 800
MODEL_PROMPT_MAX_CHARS = {"wan2.5-i2v-preview": 2000, "wan2.6-i2v": 2000}
#: The input image's limits [doc]: each side 360–2000 px, at most 10 MB.
IMAGE_SIDE_MIN, IMAGE_SIDE_MAX, IMAGE_MAX_BYTES = 360, 2000, 10 * 1024 * 1024


@dataclass(frozen=True)
class I2VModel:
    """What one model accepts: clip lengths in seconds and output resolution tiers."""

    durations: tuple[int, ...]
    resolutions: tuple[str, ...] = ()


#: Per model [doc model pages; not confirmed for every model — DASHSCOPE_I2V_DURATIONS overrides the lengths].
I2V_MODELS = {
    "wan2.5-i2v-preview": I2VModel((5, 10), ("480P", "720P", "1080P")),
    "wan2.2-i2v-flash": I2VModel((5,), ("480P", "720P")),
    "wan2.2-i2v-plus": I2VModel((5,), ("480P", "1080P")),
    "wanx2.1-i2v-turbo": I2VModel((3, 4, 5), ("480P", "720P")),
    "wanx2.1-i2v-plus": I2VModel((5,), ("720P",)),
    # the same two models as the Singapore region names them
    "wan2.1-i2v-turbo": I2VModel((3, 4, 5), ("480P", "720P")),
    "wan2.1-i2v-plus": I2VModel((5,), ("720P",)),
}


def model_spec(settings: DashScopeVideoSettings) -> I2VModel:
    """The model's accepted lengths and tiers; ConfigurationError when RESOLUTION is not one of them."""
    spec = I2V_MODELS.get(settings.MODEL, I2VModel((5,)))
    if settings.DURATIONS.strip():
        try:
            durations = tuple(sorted(int(d) for d in settings.DURATIONS.split(",") if d.strip()))
        except ValueError as exc:
            raise ConfigurationError(f"DASHSCOPE_I2V_DURATIONS must list whole seconds: {exc}") from exc
        spec = I2VModel(durations, spec.resolutions)
    if spec.resolutions and settings.RESOLUTION not in spec.resolutions:
        raise ConfigurationError(f"{settings.MODEL} renders {', '.join(spec.resolutions)}, not {settings.RESOLUTION!r} "
                         "(DASHSCOPE_I2V_RESOLUTION)")
    return spec


def vendor_duration(durations: tuple[int, ...], requested: float) -> int:
    """The clip length to ask for: the shortest accepted one covering `requested`, else the longest."""
    covering = [d for d in sorted(durations) if d >= requested - 1e-6]
    return covering[0] if covering else max(durations)


def upload_size(width: int, height: int) -> tuple[int, int]:
    """The keyframe size to send: scaled (aspect kept) so each side is within the vendor's 360–2000 px."""
    scale = max(IMAGE_SIDE_MIN / min(width, height), 1.0)
    scale = min(scale, IMAGE_SIDE_MAX / max(width, height))
    return max(round(width * scale), 1), max(round(height * scale), 1)


def i2v_call_args(request: ClipRequest, settings: DashScopeVideoSettings, spec: I2VModel,
                  img_url: str) -> dict[str, Any]:
    """Keyword arguments of `VideoSynthesis.async_call` for one clip."""
    limit = MODEL_PROMPT_MAX_CHARS.get(settings.MODEL, PROMPT_MAX_CHARS)
    prompt = (request.prompts.get("zh") or request.prompt).strip()[:limit]
    return {"model": settings.MODEL, "prompt": prompt or None, "img_url": img_url,
            "negative_prompt": settings.NEGATIVE_PROMPT or None, "resolution": settings.RESOLUTION,
            "duration": vendor_duration(spec.durations, request.duration), "seed": request.seed % (SEED_MAX + 1),
            "prompt_extend": False, "extend_prompt": False, "watermark": False}


def check_request(request: ClipRequest) -> None:
    """Raise ValueError unless the request's size is even and positive and its fps and duration positive."""
    w, h, fps = request.width, request.height, request.fps
    if w <= 0 or h <= 0 or w % 2 or h % 2 or fps <= 0 or request.duration <= 0:
        raise ValueError(f"need an even positive size, fps and duration; got {w}x{h} {fps} fps {request.duration} s")


def data_uri(path: Path) -> str:
    """The keyframe as a `data:image/...;base64,` URI within the vendor's size limits."""
    try:
        with Image.open(path) as opened:
            img = opened.convert("RGB")
    except (UnidentifiedImageError, OSError) as exc:
        raise TerminalBackendError(BACKEND, "bad_keyframe", f"the keyframe is not an image: {exc}") from exc
    size = upload_size(*img.size)
    if size != img.size:
        img = img.resize(size, Image.Resampling.LANCZOS)
    for fmt, mime, options in (("PNG", "image/png", {}), ("JPEG", "image/jpeg", {"quality": 90})):
        buf = io.BytesIO()
        img.save(buf, format=fmt, **options)
        if buf.tell() <= IMAGE_MAX_BYTES:
            return f"data:{mime};base64,{base64.b64encode(buf.getvalue()).decode()}"
    raise TerminalBackendError(BACKEND, "bad_keyframe", "the keyframe is over 10 MB even as JPEG")


class DashScopeClipAnimator:
    """ClipAnimator over DashScope wan image-to-video (wan2.5-i2v-preview, wanx2.1-i2v-turbo, …)."""

    def __init__(self, account: DashScopeSettings, settings: DashScopeVideoSettings, *,
                 store: ObjectStore | None = None, crf: int = 23, preset: str = "veryfast",
                 ffmpeg_timeout_s: float = 600.0):
        self.settings = settings
        self.spec = model_spec(settings)
        if settings.IMAGE_INPUT == "url" and store is None:
            raise ConfigurationError("DASHSCOPE_I2V_IMAGE_INPUT=url needs an object store")
        self.store = store
        self.crf, self.preset, self.ffmpeg_timeout_s = crf, preset, ffmpeg_timeout_s
        self.client = DashScopeClient(BACKEND, account)
        self._call = PolicedCaller(BACKEND, settings.policy())

    async def animate(self, request: ClipRequest, out_path: Path) -> None:
        """Write an H.264 MP4 (no audio) of request.duration seconds to `out_path`.

        Raises:
            TransientBackendError: throttled, 5xx, unreachable, or the task outlived TASK_TIMEOUT_S.
            TerminalBackendError: the task FAILED (e.g. DataInspectionFailed), the request was refused,
                or the result is not a video.
        """
        check_request(request)
        img_url = await self._image_input(request.keyframe_path)
        raw = out_path.with_name(f".{out_path.name}.{uuid.uuid4().hex}.download.mp4")
        await generate_and_fit(lambda: self._call(lambda: self._generate(request, raw, img_url)), raw, out_path,
                               request, backend=BACKEND, crf=self.crf, preset=self.preset,
                               timeout_s=self.ffmpeg_timeout_s)

    async def _image_input(self, keyframe: Path) -> str:
        if self.store is None:
            return await asyncio.to_thread(data_uri, keyframe)
        key = f"dashscope/i2v-inputs/{uuid.uuid4().hex}{keyframe.suffix or '.png'}"
        await self.store.put_file(key, keyframe, "image/png")
        try:
            return check_media_url(self.store.url(key))
        except ValueError as exc:
            raise TerminalBackendError(BACKEND, "bad_image_url", f"the object store's URL: {exc}") from exc

    async def _generate(self, request: ClipRequest, raw: Path, img_url: str) -> None:
        """Run the task (within a slot of the key's CONCURRENCY) and download its video to `raw`; the fit to
        the shot runs after, with the slot free."""
        args = i2v_call_args(request, self.settings, self.spec, img_url)
        output = await self.client.run_task(VideoSynthesis, timeout_s=self.settings.TASK_TIMEOUT_S, **args)
        if not output.get("video_url"):
            raise TerminalBackendError(BACKEND, "no_result", "the task SUCCEEDED without a video_url")
        raw.parent.mkdir(parents=True, exist_ok=True)
        await self.client.download(str(output["video_url"]), raw)

    async def ready(self) -> Readiness:
        """Ready when ffmpeg is installed, the API key is set and DashScope answers with it."""
        ffmpeg = binary_readiness("ffmpeg")
        return ffmpeg if not ffmpeg.ready else await self.client.ready()

    async def aclose(self) -> None:
        await self.client.aclose()


def create(settings: Settings, *, publish: ObjectStore) -> DashScopeClipAnimator:
    """The DashScope clip backend, configured from DASHSCOPE_* and DASHSCOPE_I2V_* variables (the object store
    from the app settings when DASHSCOPE_I2V_IMAGE_INPUT=url)."""
    store = publish if settings.dashscope_video.IMAGE_INPUT == "url" else None
    return DashScopeClipAnimator(settings.dashscope, settings.dashscope_video, store=store, crf=settings.compose.crf,
                                 preset=settings.compose.preset, ffmpeg_timeout_s=settings.compose.timeout_s)
