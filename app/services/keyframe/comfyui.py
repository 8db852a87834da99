"""Keyframes from a local ComfyUI: a text-to-image workflow template (Qwen-Image or SDXL) per shot.

The template (COMFYUI_IMAGE_TEMPLATE) is patched for the shot's prompt, seed and a render size
with the request's aspect ratio and the template's pixel count (latent models work best at their
native size); the PNG fetched from /view is then scaled and centre-cropped to the exact request
size with Pillow.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

from app.core.errors import TerminalBackendError
from app.core.settings import Settings
from app.core.settings.comfyui import ComfyImageSettings, ComfyUISettings
from app.services.backend import Readiness
from app.services.comfyui.client import ComfyClient
from app.services.comfyui.jobs import ComfyJobs, run_and_fetch
from app.services.comfyui.protocol import BACKEND
from app.services.comfyui.workflows import IMAGE_MARKS, Graph, Values, fit_size, load_workflow, patch
from app.services.keyframe.base import KeyframeRequest
from app.services.scheduling import Lease

_CJK = re.compile(r"[\u3400-\u9fff]")


class ComfyKeyframeRenderer:
    """KeyframeRenderer over ComfyUI (see the module docstring)."""

    def __init__(self, common: ComfyUISettings, own: ComfyImageSettings):
        self.own = own
        self.workflow = load_workflow(own.TEMPLATE, IMAGE_MARKS)
        self.jobs = ComfyJobs(common, own.policy())

    def graph_for(self, request: KeyframeRequest) -> Graph:
        """The patched workflow for one keyframe (pure)."""
        native_w, native_h = self.workflow.native_size
        width, height = fit_size(request.width, request.height, area=native_w * native_h)
        values = Values(prompt=keyframe_prompt(request), seed=request.seed, width=width, height=height,
                        negative=self.own.NEGATIVE)
        return patch(self.workflow, values)

    async def render(self, request: KeyframeRequest, out_path: Path) -> None:
        """Write the keyframe as a PNG of request.width × request.height."""
        graph = self.graph_for(request)
        out_path.parent.mkdir(parents=True, exist_ok=True)
        raw = out_path.with_name(f".{out_path.name}.{uuid.uuid4().hex[:8]}.comfyui")

        async def job(client: ComfyClient, lease: Lease) -> None:
            await run_and_fetch(client, lease, graph, output_node=self.workflow.output_node, dest=raw,
                                timeout_s=self.own.TIMEOUT_S, label=f"keyframe {request.shot_id}")

        try:
            await self.jobs.run(job)
            await asyncio.to_thread(fit_image, raw, out_path, request.width, request.height)
        finally:
            raw.unlink(missing_ok=True)

    async def ready(self) -> Readiness:
        return await self.jobs.ready()

    async def aclose(self) -> None:
        await self.jobs.aclose()


def keyframe_prompt(request: KeyframeRequest) -> str:
    """The text-to-image prompt: the still-frame description, led by the style and the subject when it
    does not already contain them (the planner usually writes both into it)."""
    detail = request.image_detail.strip()
    extras = [text.strip() for text in (request.style, request.subject) if text.strip() and text.strip() not in detail]
    parts = list(dict.fromkeys(extras)) + ([detail] if detail else [])
    joined = "".join(parts)
    return ("，" if _CJK.search(joined) else ", ").join(parts)


def fit_image(src: Path, dst: Path, width: int, height: int) -> None:
    """Save `src` as an RGB PNG of exactly width × height (scaled to cover, centre-cropped)."""
    try:
        with Image.open(src) as image:
            image.load()
            picture = image.convert("RGB")
    except (UnidentifiedImageError, OSError) as exc:
        raise TerminalBackendError(BACKEND, "invalid_media", f"ComfyUI returned no readable image: {exc}") from exc
    if picture.size != (width, height):
        picture = ImageOps.fit(picture, (width, height), method=Image.Resampling.LANCZOS)
    picture.save(dst, format="PNG")


def create(settings: Settings) -> ComfyKeyframeRenderer:
    return ComfyKeyframeRenderer(settings.comfyui, settings.comfyui_image)
