"""Keyframes from DashScope wan/wanx text-to-image: one async task per shot, the result downloaded at once and
fitted (Pillow, in a thread) to the request's exact size."""

from __future__ import annotations

import asyncio
import math
import os
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dashscope import ImageSynthesis
from PIL import Image, ImageOps, UnidentifiedImageError

from app.core.errors import TerminalBackendError
from app.core.settings import Settings
from app.core.settings.dashscope import DashScopeImageSettings, DashScopeSettings
from app.services.backend import PolicedCaller, Readiness
from app.services.dashscope_common import DashScopeClient
from app.services.keyframe.base import KeyframeRequest

BACKEND = "dashscope-t2i"
#: wanx-v1 renders only these sizes [doc text-to-image API reference].
WANX_V1_SIZES = ((1024, 1024), (720, 1280), (1280, 720), (768, 1152))


@dataclass(frozen=True)
class SizeRule:
    """Free `width*height` sizes a model accepts: each side and the pixel count within bounds."""

    side_min: int = 512
    side_max: int = 1440
    pixels_min: int = 0
    pixels_max: int = 2_000_000


#: Per model-name prefix [doc; not confirmed for every model]: wan2.2 / wanx2.x sides in [512, 1440] up to
#: 2 megapixels; wan2.5 a pixel count within [768², 1440²]. Longest matching prefix wins.
SIZE_RULES = {"": SizeRule(), "wan2.5": SizeRule(pixels_min=768 * 768, pixels_max=1440 * 1440)}
SEED_MAX = 2_147_483_647


def t2i_size(model: str, width: int, height: int) -> tuple[int, int]:
    """The size to ask `model` for: the supported size nearest the request's aspect ratio, as close to the
    request's size as the model allows (sides multiples of 16)."""
    if width <= 0 or height <= 0:
        raise ValueError(f"image size must be positive, got {width}x{height}")
    if model == "wanx-v1":
        return min(WANX_V1_SIZES, key=lambda s: (abs(s[0] / s[1] - width / height), abs(s[0] * s[1] - width * height)))
    rule = SIZE_RULES[max((p for p in SIZE_RULES if model.startswith(p)), key=len)]
    ratio = min(max(width / height, rule.side_min / rule.side_max), rule.side_max / rule.side_min)
    h_hi = min(rule.side_max, rule.side_max / ratio, (rule.pixels_max / ratio) ** 0.5)
    h_lo = min(max(rule.side_min, rule.side_min / ratio, (rule.pixels_min / ratio) ** 0.5), h_hi)
    h = min(max(max(height, width / ratio), h_lo), h_hi)
    return _snap(h * ratio, h_lo * ratio, h_hi * ratio), _snap(h, h_lo, h_hi)


def _snap(side: float, lo: float, hi: float) -> int:
    return int(min(max(round(side / 16) * 16, math.ceil(lo / 16) * 16), math.floor(hi / 16) * 16))


def t2i_call_args(request: KeyframeRequest, settings: DashScopeImageSettings) -> dict[str, Any]:
    """Keyword arguments of `ImageSynthesis.async_call` for one keyframe."""
    prompt = request.image_detail.strip() or request.subject.strip()
    if not prompt:
        raise TerminalBackendError(BACKEND, "empty_prompt", "the shot has no image_detail to draw")
    w, h = t2i_size(settings.MODEL, request.width, request.height)
    return {"model": settings.MODEL, "prompt": prompt, "negative_prompt": settings.NEGATIVE_PROMPT or None,
            "n": 1, "size": f"{w}*{h}", "seed": request.seed % (SEED_MAX + 1),
            "prompt_extend": settings.PROMPT_EXTEND, "watermark": False}


def first_result_url(output: dict[str, Any]) -> str:
    """The URL of the first result image of a SUCCEEDED task; a failed entry raises with its message."""
    results = output.get("results") or []
    if not results:
        raise TerminalBackendError(BACKEND, "no_result", "the task SUCCEEDED without results")
    first = results[0]
    if not first.get("url"):
        raise TerminalBackendError(BACKEND, str(first.get("code") or "no_result"),
                                   str(first.get("message") or "the result has no url"))
    return str(first["url"])


def fit_image(src: Path, dest: Path, width: int, height: int) -> None:
    """Centre-crop `src` to width:height and resize it to exactly width×height; write a PNG to `dest`."""
    try:
        with Image.open(src) as img:
            fitted = ImageOps.fit(img.convert("RGB"), (width, height), Image.Resampling.LANCZOS)
    except (UnidentifiedImageError, OSError) as exc:
        raise TerminalBackendError(BACKEND, "bad_result", f"the result is not an image: {exc}") from exc
    tmp = dest.with_name(f".{dest.name}.{uuid.uuid4().hex}.png")
    try:
        fitted.save(tmp, format="PNG")
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)


class DashScopeKeyframeRenderer:
    """KeyframeRenderer over DashScope text-to-image (wanx-v1, wanx2.x, wan2.x-t2i models)."""

    def __init__(self, account: DashScopeSettings, settings: DashScopeImageSettings):
        self.settings = settings
        self.client = DashScopeClient(BACKEND, account)
        self._call = PolicedCaller(BACKEND, settings.policy())

    async def render(self, request: KeyframeRequest, out_path: Path) -> None:
        """Write the keyframe for `request` to `out_path` as a PNG of request.width × request.height.

        Raises:
            TransientBackendError: throttled, 5xx, unreachable, or the task outlived TASK_TIMEOUT_S.
            TerminalBackendError: the task FAILED (e.g. DataInspectionFailed) or the request was refused.
        """
        await self._call(lambda: self._render(request, out_path))

    async def _render(self, request: KeyframeRequest, out_path: Path) -> None:
        args = t2i_call_args(request, self.settings)
        output = await self.client.run_task(ImageSynthesis, timeout_s=self.settings.TASK_TIMEOUT_S, **args)
        out_path.parent.mkdir(parents=True, exist_ok=True)
        raw = out_path.with_name(f".{out_path.name}.{uuid.uuid4().hex}.download")
        try:
            await self.client.download(first_result_url(output), raw)
            await asyncio.to_thread(fit_image, raw, out_path, request.width, request.height)
        finally:
            raw.unlink(missing_ok=True)

    async def ready(self) -> Readiness:
        """Ready when the API key is set and DashScope answers with it."""
        return await self.client.ready()

    async def aclose(self) -> None:
        await self.client.aclose()


def create(settings: Settings) -> DashScopeKeyframeRenderer:
    """The DashScope keyframe backend, configured from DASHSCOPE_* and DASHSCOPE_T2I_* variables."""
    return DashScopeKeyframeRenderer(settings.dashscope, settings.dashscope_image)
