"""Clips from a local ComfyUI: the HunyuanVideo-1.5 image-to-video workflow (the upstream's node chain).

Per shot: upload the keyframe (POST /upload/image), patch the template (COMFYUI_VIDEO_TEMPLATE) for
the motion prompt (the English rewrite when the planner made one), seed, start image, a render size
with the shot's aspect ratio at the model's pixel count, batch 1, and a 4k+1 frame count covering
the shot at the model's rate (capped by COMFYUI_VIDEO_MAX_FRAMES); run it; fetch the video from
/view; and fit it to the shot's duration, size and rate with one FFmpeg call (a short clip holds
its last frame, a long one is trimmed).
"""

from __future__ import annotations

import uuid
from pathlib import Path

from app.core.settings import Settings
from app.core.settings.comfyui import ComfyUISettings, ComfyVideoSettings
from app.services.backend import Readiness, binary_readiness
from app.services.clip.base import ClipRequest
from app.services.clip.fit import generate_and_fit
from app.services.comfyui.client import ComfyClient
from app.services.comfyui.jobs import ComfyJobs, run_and_fetch
from app.services.comfyui.protocol import BACKEND
from app.services.comfyui.workflows import VIDEO_MARKS, Graph, Values, fit_size, frame_count, load_workflow, patch
from app.services.scheduling import Lease


class ComfyClipAnimator:
    """ClipAnimator over ComfyUI (see the module docstring)."""

    def __init__(self, common: ComfyUISettings, own: ComfyVideoSettings, *, crf: int = 23,
                 preset: str = "veryfast", ffmpeg_timeout_s: float = 600.0):
        self.own = own
        self.workflow = load_workflow(own.TEMPLATE, VIDEO_MARKS)
        self.jobs = ComfyJobs(common, own.policy())
        self.crf, self.preset, self.ffmpeg_timeout_s = crf, preset, ffmpeg_timeout_s

    @property
    def model_fps(self) -> int:
        return self.workflow.native_fps or self.own.FPS

    def graph_for(self, request: ClipRequest, image: str) -> Graph:
        """The patched workflow for one clip whose start image was uploaded as `image` (pure)."""
        native_w, native_h = self.workflow.native_size
        width, height = fit_size(request.width, request.height, area=native_w * native_h)
        values = Values(prompt=clip_prompt(request), seed=request.seed, width=width, height=height,
                        negative=self.own.NEGATIVE, image=image,
                        frames=frame_count(request.duration, self.model_fps, max_frames=self.own.MAX_FRAMES))
        return patch(self.workflow, values)

    async def animate(self, request: ClipRequest, out_path: Path) -> None:
        """Write an H.264 MP4 (no audio) of request.duration seconds at the request's size and rate."""
        out_path.parent.mkdir(parents=True, exist_ok=True)
        raw = out_path.with_name(f".{out_path.name}.{uuid.uuid4().hex[:8]}.comfyui")

        async def job(client: ComfyClient, lease: Lease) -> None:
            suffix = request.keyframe_path.suffix or ".png"
            image = await client.upload_image(request.keyframe_path, f"story2video_{uuid.uuid4().hex}{suffix}")
            await run_and_fetch(client, lease, self.graph_for(request, image), output_node=self.workflow.output_node,
                                dest=raw, timeout_s=self.own.TIMEOUT_S, label=f"clip {request.keyframe_path.name}")

        await generate_and_fit(lambda: self.jobs.run(job), raw, out_path, request, backend=BACKEND, crf=self.crf,
                               preset=self.preset, timeout_s=self.ffmpeg_timeout_s)

    async def ready(self) -> Readiness:
        ffmpeg = binary_readiness("ffmpeg")
        return await self.jobs.ready() if ffmpeg.ready else ffmpeg

    async def aclose(self) -> None:
        await self.jobs.aclose()


def clip_prompt(request: ClipRequest) -> str:
    """The motion prompt HunyuanVideo gets: the English rewrite if there is one, else the user's."""
    return (request.prompts.get("en") or "").strip() or request.prompt


def create(settings: Settings) -> ComfyClipAnimator:
    return ComfyClipAnimator(settings.comfyui, settings.comfyui_video, crf=settings.compose.crf,
                             preset=settings.compose.preset, ffmpeg_timeout_s=settings.compose.timeout_s)
