"""HunyuanVideo-1.5 image-to-video server: one image + a prompt in, an H.264 MP4 (24 fps) out.

A single self-contained FastAPI process (no imports from the Story2Video service). It loads
``diffusers.HunyuanVideo15ImageToVideoPipeline`` (diffusers >= 0.36) from a local model folder in
the lifespan — never at import, never from the Hub — and runs one GPU job at a time.

Shared contract of the three GPU servers (HunyuanVideo-1.5/api.py, CosyVoice/api.py, video_enhance/video_api):

- Errors: every 4xx/5xx answer is {"code", "message", "request_id", "details"?}, with an X-Request-Id header
  (the caller's X-Request-Id when well-formed): 422 invalid_request (details.errors: [{field, problem}]) or a
  precise code, 404 not_found / job_not_found, 405 method_not_allowed, 409 job_not_finished / job_failed,
  429 queue_full with Retry-After, 503 model_loading / model_unavailable, 500 internal_error. Exception text
  never reaches a client; it is logged under the request id.
- Queue: one GPU job at a time; at most queue.capacity wait behind it; one more gets 429 + Retry-After.
- Jobs (long work): POST /v1/jobs -> 202 with the job; GET /v1/jobs/{job_id} -> {job_id, status:
  queued|running|succeeded|failed, queue_position (1 = next to run; null unless queued), progress: {step,
  total}|null, error: {code, message}|null, created_at, started_at, finished_at (epoch seconds), result:
  {url, ...}|null, ...}. Finished jobs expire after a TTL (then 404 job_not_found).
- GET /health -> {status: ok|loading|error, server, version, model: {name, loaded, ...}|null, device,
  gpu: {name, total_mib, free_mib, allocated_mib, reserved_mib, peak_allocated_mib}|null,
  queue: {running, waiting, capacity}, error: {code, message}|null, ...server extras}; HTTP 200 when
  status is ok, else 503.

Start::

    HY_MODEL_DIR=/models/HunyuanVideo-1.5-Diffusers-480p_i2v python HunyuanVideo-1.5/api.py

API (JSON; the image travels as base64)::

    POST /v1/jobs                  {image, prompt, negative_prompt?, num_frames?, steps?, seed?,
                                    height?, width?, guidance_scale?}   -> 202 {job_id, ...}
    GET  /v1/jobs/{job_id}         the job; result: {url, frames, height, width, fps, bytes, seconds};
                                   extras: params (as resolved, incl. seed and size), request_id
    GET  /v1/jobs/{job_id}/video   the MP4 (result.url)
    GET  /health                   model (folder, pipeline, dtype, ...), device, GPU memory, queue; extra: ffmpeg

The model loads in the background after start-up: meanwhile /health says "loading" (503) and jobs get 503
``model_loading``. Settings are ``HY_*`` environment variables (see ``Settings`` and HunyuanVideo-1.5/README.md).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import io
import logging
import math
import os
import random
import re
import shutil
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager, contextmanager, suppress
from dataclasses import dataclass
from enum import StrEnum
from http import HTTPStatus
from pathlib import Path
from typing import Any, Literal

import numpy as np
import uvicorn
from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse
from PIL import Image, UnidentifiedImageError
from pydantic import BaseModel, ConfigDict, Field
from pydantic_settings import BaseSettings, SettingsConfigDict
from starlette.exceptions import HTTPException as StarletteHTTPException

logger = logging.getLogger("hunyuan_api")

SERVER = "hunyuan-video-1.5"
VERSION = "1.1.0"
PIPELINE_CLASS = "HunyuanVideo15ImageToVideoPipeline"
DEFAULT_PORT = 8010
MAX_SEED = 2**63 - 1


# --------------------------------------------------------------------------------------------------
# Settings
# --------------------------------------------------------------------------------------------------


class Settings(BaseSettings):
    """Server settings, read once from ``HY_*`` environment variables."""

    model_config = SettingsConfigDict(env_prefix="HY_", extra="ignore")

    model_dir: Path = Field(description="Local diffusers folder of a HunyuanVideo-1.5 I2V checkpoint.")
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    device: str = "auto"  # auto | cuda | cuda:N | cpu
    dtype: Literal["auto", "bf16", "fp16", "fp32"] = "auto"  # auto: bf16 on CUDA, fp32 on CPU
    cpu_offload: Literal["none", "model", "sequential"] = "none"
    vae_tiling: bool = True
    attention_backend: str = ""  # "" keeps diffusers' default (native SDPA); e.g. flash_varlen, _native_cudnn
    compile: bool = False  # torch.compile the transformer's repeated blocks
    step_distilled: bool | None = None  # None: guessed from the folder name ("step_distill")
    flow_shift: float | None = None  # overrides the scheduler's shift (5 for 480p, 7 for 720p/distilled)
    default_steps: int | None = None  # None: 8 for step-distilled checkpoints, else 50
    default_guidance: float | None = None  # None: 1.0 for step-distilled, else the checkpoint's guider
    max_queue: int = Field(default=8, ge=1)  # jobs waiting behind the running one
    retry_after_s: int = Field(default=60, ge=1)  # Retry-After of a 429 queue_full
    max_prompt_chars: int = Field(default=2000, ge=1)
    max_image_bytes: int = Field(default=20 * 1024 * 1024, ge=1)
    max_image_pixels: int = Field(default=40_000_000, ge=1)
    max_frames: int = Field(default=121, ge=1)
    max_steps: int = Field(default=100, ge=1)
    fps: int = Field(default=24, ge=1)
    crf: int = Field(default=18, ge=0, le=51)
    ffmpeg: str = "ffmpeg"
    work_dir: Path = Path("/tmp/hunyuan-video-work")
    output_ttl_s: float = Field(default=24 * 3600, gt=0)
    cleanup_interval_s: float = Field(default=600, gt=0)
    log_level: str = "info"

    def is_step_distilled(self) -> bool:
        """Whether to use the step-distilled defaults (explicit setting, else the folder name)."""
        if self.step_distilled is not None:
            return self.step_distilled
        return "step_distill" in self.model_dir.name.lower()


# --------------------------------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------------------------------


# ------------------------------------------------------------------------------------------ shared contract (begin)
# Kept identical on purpose in HunyuanVideo-1.5/api.py, CosyVoice/api.py and video_enhance/video_api/contract.py:
# each server is copied alone onto its GPU machine, so this is a copy, not an import.
# tests/test_gpu_server_contract.py checks that the copies match and that the three servers behave alike.

REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
HTTP_ERRORS = {404: ("not_found", "no such endpoint"), 405: ("method_not_allowed", "method not allowed here")}


class ApiError(Exception):
    """An error answer: ``status_code`` with ``{code, message, request_id, details?}`` (and ``headers``)."""

    def __init__(self, status_code: int, code: str, message: str, details: dict[str, Any] | None = None,
                 headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status_code, self.code, self.message = status_code, code, message
        self.details, self.headers = details, headers


def queue_full(capacity: int, retry_after_s: int) -> ApiError:
    """429: the bounded queue has no room; ``Retry-After`` says when to try again."""
    return ApiError(429, "queue_full", f"{capacity} requests are already waiting; retry later",
                    {"capacity": capacity, "retry_after_s": retry_after_s}, {"Retry-After": str(retry_after_s)})


def model_not_ready(failed: bool) -> ApiError:
    """503 while the model loads (``model_loading``) or after it failed to load (``model_unavailable``)."""
    return ApiError(503, "model_unavailable" if failed else "model_loading", "the model is not loaded; see GET /health")


def job_not_found() -> ApiError:
    """404 for an unknown job id (finished jobs expire after the server's TTL)."""
    return ApiError(404, "job_not_found", "no such job (finished jobs expire after a while)")


def result_not_ready(status: str, error: dict[str, str] | None) -> ApiError:
    """409 for a job's result before it succeeded: ``job_not_finished``, or ``job_failed`` with its error."""
    if status == "failed":
        return ApiError(409, "job_failed", "the job failed; it has no result", {"error": error or {}})
    return ApiError(409, "job_not_finished", f"the job is {status}")


def invalid_request(errors: Sequence[Any]) -> ApiError:
    """422 naming each bad field and its problem (pydantic's error list), never echoing the input."""
    items = [{"field": ".".join(str(p) for p in e["loc"] if p not in ("body", "query", "path")), "problem": e["msg"]}
             for e in errors]
    first = items[0] if items else {"field": "", "problem": "invalid request"}
    return ApiError(422, "invalid_request", f"{first['field'] or 'body'}: {first['problem']}", {"errors": items})


def request_id_of(request: Request) -> str:
    """The caller's ``X-Request-Id`` when well-formed, else a new id; fixed for the rest of the request."""
    rid = getattr(request.state, "request_id", None)
    if not rid:
        incoming = request.headers.get("x-request-id", "")
        rid = incoming if REQUEST_ID.match(incoming) else uuid.uuid4().hex
        request.state.request_id = rid
    return rid


def error_response(request: Request, status_code: int, code: str, message: str,
                   details: dict[str, Any] | None = None, headers: dict[str, str] | None = None) -> JSONResponse:
    """The one error body, ``{code, message, request_id, details?}``, with the ``X-Request-Id`` header."""
    rid = request_id_of(request)
    body: dict[str, Any] = {"code": code, "message": message, "request_id": rid}
    if details:
        body["details"] = details
    return JSONResponse(body, status_code=status_code, headers={**(headers or {}), "X-Request-Id": rid})


def install_contract(app: FastAPI) -> None:
    """Tag every answer with ``X-Request-Id`` and answer every error (routing, validation, crash) as the shared body."""

    @app.middleware("http")
    async def tag_request_id(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        rid = request_id_of(request)
        response = await call_next(request)
        response.headers["X-Request-Id"] = rid
        return response

    @app.exception_handler(ApiError)
    async def on_api_error(request: Request, exc: ApiError) -> JSONResponse:
        return error_response(request, exc.status_code, exc.code, exc.message, exc.details, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def on_invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        return await on_api_error(request, invalid_request(exc.errors()))

    @app.exception_handler(StarletteHTTPException)
    async def on_http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code, message = HTTP_ERRORS.get(exc.status_code, ("http_error", HTTPStatus(exc.status_code).phrase))
        return error_response(request, exc.status_code, code, message, headers=exc.headers)

    @app.exception_handler(Exception)
    async def on_unexpected(request: Request, exc: Exception) -> JSONResponse:
        logger.error("request %s failed", request_id_of(request), exc_info=exc)
        return error_response(request, 500, "internal_error", "internal error; see the server log")


def job_view(job_id: str, status: str, *, queue_position: int | None, progress: dict[str, int] | None,
             error: dict[str, str] | None, created_at: float, started_at: float | None, finished_at: float | None,
             result: dict[str, Any] | None, **extra: Any) -> dict[str, Any]:
    """A job as ``POST /v1/jobs`` (202) and ``GET /v1/jobs/{id}`` show it: the shared keys, then the server's own."""
    return {**extra, "job_id": job_id, "status": status, "queue_position": queue_position, "progress": progress,
            "error": error, "created_at": created_at, "started_at": started_at, "finished_at": finished_at,
            "result": result}


def gpu_memory(device: str | None) -> dict[str, Any] | None:
    """CUDA memory in MiB when ``device`` is a CUDA device (torch is already loaded then), else None."""
    torch = sys.modules.get("torch")
    if not (device or "").startswith("cuda") or torch is None or not torch.cuda.is_available():
        return None
    mib = 1024 * 1024
    free, total = torch.cuda.mem_get_info()
    return {"name": torch.cuda.get_device_name(), "total_mib": total // mib, "free_mib": free // mib,
            "allocated_mib": torch.cuda.memory_allocated() // mib, "reserved_mib": torch.cuda.memory_reserved() // mib,
            "peak_allocated_mib": torch.cuda.max_memory_allocated() // mib}


def health_response(*, server: str, version: str, status: str, model: dict[str, Any] | None, device: str | None,
                    running: int, waiting: int, capacity: int, error: dict[str, str] | None,
                    **extra: Any) -> JSONResponse:
    """``GET /health``: the shared keys (then the server's own); HTTP 200 when ``status`` is ok, else 503."""
    body = {**extra, "status": status, "server": server, "version": version, "model": model, "device": device,
            "gpu": gpu_memory(device), "queue": {"running": running, "waiting": waiting, "capacity": capacity},
            "error": error}
    return JSONResponse(body, status_code=200 if status == "ok" else 503)


# ------------------------------------------------------------------------------------------ shared contract (end)


class InputError(ApiError):
    """A request the server refuses (4xx, 422 unless said otherwise); nothing is queued."""

    def __init__(self, code: str, message: str, status: int = 422):
        super().__init__(status, code, message)


class ModelLoadError(Exception):
    """The model folder could not be loaded; ``code`` is shown by /health."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code, self.message = code, message


class EncodeError(Exception):
    """FFmpeg failed to write the MP4; carries the tail of its stderr for the log."""


# --------------------------------------------------------------------------------------------------
# Request / response models
# --------------------------------------------------------------------------------------------------


class JobCreate(BaseModel):
    """``POST /v1/jobs`` body. Ranges are checked by ``check_inputs`` to give precise error codes."""

    model_config = ConfigDict(extra="forbid")

    image: str = Field(description="The first frame: PNG/JPEG/WebP bytes as base64 (a data: URL is accepted).")
    prompt: str
    negative_prompt: str = ""
    num_frames: int = Field(default=121, description="4k+1 frames (121 = 5 s at 24 fps).")
    steps: int | None = Field(default=None, description="Denoising steps; default 50 (8 if step-distilled).")
    seed: int | None = Field(default=None, description="Random seed; drawn and reported when omitted.")
    height: int | None = Field(default=None, description="Output height; default from the image's aspect ratio.")
    width: int | None = Field(default=None, description="Output width; give both or neither.")
    guidance_scale: float | None = Field(default=None, description="CFG scale; 1.0 disables CFG.")


class JobStatus(StrEnum):
    """Lifecycle of a job."""

    queued = "queued"  #: accepted, waiting for the GPU
    running = "running"  #: on the GPU now
    succeeded = "succeeded"  #: the MP4 is ready
    failed = "failed"  #: see ``error``


class JobParams(BaseModel):
    """The resolved generation parameters of a job (what will actually run)."""

    prompt: str
    negative_prompt: str
    num_frames: int
    steps: int
    seed: int
    height: int
    width: int
    guidance_scale: float


class JobError(BaseModel):
    """Why a job failed: a stable code and a fixed message."""

    code: str
    message: str


class VideoInfo(BaseModel):
    """The produced MP4."""

    frames: int
    height: int
    width: int
    fps: int
    bytes: int
    seconds: float  # generation wall time


class JobRecord(BaseModel):
    """A job as stored in ``<work_dir>/jobs/<id>/job.json``; ``public`` turns it into the shared job view."""

    id: str
    status: JobStatus
    seq: int
    request_id: str
    created_at: float
    started_at: float | None = None
    finished_at: float | None = None
    params: JobParams
    progress: dict[str, int] | None = None  # {step, total} once the job runs
    error: JobError | None = None
    video: VideoInfo | None = None


# --------------------------------------------------------------------------------------------------
# Input checks
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ModelInfo:
    """What the input checks need to know about the loaded model."""

    target_size: int  # pixel size of the square whose area the model's buckets match (640: 480p, 960: 720p)
    spatial_factor: int  # VAE spatial compression (16)
    temporal_factor: int  # VAE temporal compression (4) -> frames must be k*4+1
    default_steps: int
    default_guidance: float
    bucket_for: Callable[[int, int], tuple[int, int]]  # (image h, image w) -> (height, width)


@dataclass(frozen=True)
class CheckedJob:
    """A validated request: the decoded image and the resolved parameters."""

    image: Image.Image
    params: JobParams


def decode_image(data: str, settings: Settings) -> Image.Image:
    """Decode a base64 (or data: URL) image into RGB, refusing oversize or undecodable input."""
    if data.startswith("data:"):
        data = data.partition(",")[2]
    if len(data) > 4 * math.ceil(settings.max_image_bytes / 3) + 4:
        raise InputError("image_too_large", f"image is larger than {settings.max_image_bytes} bytes", status=413)
    try:
        raw = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise InputError("image_invalid", "image is not valid base64") from None
    if not raw:
        raise InputError("image_invalid", "image is empty")
    if len(raw) > settings.max_image_bytes:
        raise InputError("image_too_large", f"image is larger than {settings.max_image_bytes} bytes", status=413)
    try:
        with Image.open(io.BytesIO(raw)) as probe:
            width, height = probe.size
            if width * height > settings.max_image_pixels:
                raise InputError("image_too_large", f"image has more than {settings.max_image_pixels} pixels", 413)
            probe.load()
            return probe.convert("RGB")
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise InputError("image_invalid", "image could not be decoded (PNG, JPEG or WebP expected)") from None


def check_text(name: str, text: str, limit: int, *, required: bool) -> str:
    """Strip a prompt and check its length."""
    text = text.strip()
    if required and not text:
        raise InputError(f"{name}_empty", f"{name} must not be empty")
    if len(text) > limit:
        raise InputError(f"{name}_too_long", f"{name} has {len(text)} characters; at most {limit} are allowed")
    return text


def check_size(req: JobCreate, image: Image.Image, model: ModelInfo) -> tuple[int, int]:
    """Resolve the output (height, width): the model's bucket for the image, or the requested size."""
    if req.height is None and req.width is None:
        return model.bucket_for(image.height, image.width)
    if req.height is None or req.width is None:
        raise InputError("size_incomplete", "give both height and width, or neither")
    f = model.spatial_factor
    if req.height % f or req.width % f or req.height < 2 * f or req.width < 2 * f:
        raise InputError("size_invalid", f"height and width must be multiples of {f} and at least {2 * f}")
    if req.height * req.width > model.target_size**2:
        raise InputError("size_too_large", f"height*width must be at most {model.target_size}^2 for this model")
    return req.height, req.width


def check_inputs(req: JobCreate, settings: Settings, model: ModelInfo) -> CheckedJob:
    """Validate a request against the limits and the loaded model; raise ``InputError`` naming the problem."""
    prompt = check_text("prompt", req.prompt, settings.max_prompt_chars, required=True)
    negative = check_text("negative_prompt", req.negative_prompt, settings.max_prompt_chars, required=False)
    t = model.temporal_factor
    if not 1 <= req.num_frames <= settings.max_frames or (req.num_frames - 1) % t:
        raise InputError("num_frames_invalid", f"num_frames must be {t}k+1 and between 1 and {settings.max_frames}")
    steps = model.default_steps if req.steps is None else req.steps
    if not 1 <= steps <= settings.max_steps:
        raise InputError("steps_invalid", f"steps must be between 1 and {settings.max_steps}")
    if req.seed is not None and not 0 <= req.seed <= MAX_SEED:
        raise InputError("seed_invalid", f"seed must be between 0 and {MAX_SEED}")
    guidance = model.default_guidance if req.guidance_scale is None else req.guidance_scale
    if not 1.0 <= guidance <= 20.0:
        raise InputError("guidance_invalid", "guidance_scale must be between 1.0 and 20.0")
    image = decode_image(req.image, settings)
    height, width = check_size(req, image, model)
    seed = random.randint(0, 2**31 - 1) if req.seed is None else req.seed
    params = JobParams(prompt=prompt, negative_prompt=negative, num_frames=req.num_frames, steps=steps,
                       seed=seed, height=height, width=width, guidance_scale=guidance)
    return CheckedJob(image=image, params=params)


# --------------------------------------------------------------------------------------------------
# Model loading
# --------------------------------------------------------------------------------------------------


@dataclass
class LoadedModel:
    """The loaded pipeline and how it was set up."""

    pipe: Any
    device: str
    dtype: str
    info: ModelInfo
    load_seconds: float


def resolve_device_dtype(settings: Settings) -> tuple[str, Any]:
    """Pick the torch device and dtype from the settings (auto: CUDA + bf16 when available)."""
    import torch

    device = settings.device
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ModelLoadError("cuda_unavailable", "HY_DEVICE asks for CUDA but torch sees no GPU")
    name = settings.dtype
    if name == "auto":
        name = "bf16" if device.startswith("cuda") else "fp32"
    dtypes = {"bf16": torch.bfloat16, "fp16": torch.float16, "fp32": torch.float32}
    return device, dtypes[name]


def place_pipeline(pipe: Any, settings: Settings, device: str) -> None:
    """Move the pipeline to the device, or install CPU offload hooks."""
    if settings.cpu_offload == "model":
        pipe.enable_model_cpu_offload(device=device)
    elif settings.cpu_offload == "sequential":
        pipe.enable_sequential_cpu_offload(device=device)
    else:
        pipe.to(device)


def apply_speed_options(pipe: Any, settings: Settings) -> None:
    """VAE tiling, attention backend and torch.compile, as configured."""
    if settings.vae_tiling:
        pipe.vae.enable_tiling()
    if settings.attention_backend:
        try:
            pipe.transformer.set_attention_backend(settings.attention_backend)
        except Exception as exc:  # unknown name, or the backend's package is missing
            raise ModelLoadError("attention_backend_unavailable",
                                 f"attention backend {settings.attention_backend!r} cannot be used") from exc
    if settings.compile:
        if hasattr(pipe.transformer, "compile_repeated_blocks"):
            pipe.transformer.compile_repeated_blocks(fullgraph=True)
        else:
            pipe.transformer = __import__("torch").compile(pipe.transformer)


def model_info(pipe: Any, settings: Settings) -> ModelInfo:
    """Read sizes and defaults off the loaded pipeline."""
    distilled = settings.is_step_distilled()
    steps = settings.default_steps or (8 if distilled else 50)
    guidance = settings.default_guidance
    if guidance is None:
        guidance = 1.0 if distilled else float(getattr(pipe.guider, "guidance_scale", 6.0))
    processor, target = pipe.video_processor, int(pipe.target_size)

    def bucket_for(height: int, width: int) -> tuple[int, int]:
        # the class method, not the instance attribute that ``job_overrides`` sets during a running job
        h, w = type(processor).calculate_default_height_width(processor, height=height, width=width,
                                                              target_size=target)
        return int(h), int(w)

    return ModelInfo(target_size=target, spatial_factor=int(pipe.vae_scale_factor_spatial),
                     temporal_factor=int(pipe.vae_scale_factor_temporal), default_steps=steps,
                     default_guidance=guidance, bucket_for=bucket_for)


def load_model(settings: Settings) -> LoadedModel:
    """Load the I2V pipeline from the local folder and apply the settings (blocking; call in a thread)."""
    started = time.monotonic()
    # 1. Check the folder
    if not (settings.model_dir / "model_index.json").is_file():
        raise ModelLoadError("model_dir_invalid", f"{settings.model_dir.name}: no model_index.json in HY_MODEL_DIR")
    # 2. Resolve device and dtype
    device, dtype = resolve_device_dtype(settings)
    # 3. Load the components (local files only; nothing is downloaded)
    import transformers
    from diffusers import FlowMatchEulerDiscreteScheduler, HunyuanVideo15ImageToVideoPipeline
    from diffusers.utils import logging as diffusers_logging

    diffusers_logging.disable_progress_bar()
    transformers.utils.logging.disable_progress_bar()
    pipe = HunyuanVideo15ImageToVideoPipeline.from_pretrained(settings.model_dir, torch_dtype=dtype,
                                                              local_files_only=True)
    # 4. Scheduler shift override
    if settings.flow_shift is not None:
        pipe.scheduler = FlowMatchEulerDiscreteScheduler.from_config(pipe.scheduler.config, shift=settings.flow_shift)
    # 5. Placement and speed options
    place_pipeline(pipe, settings, device)
    apply_speed_options(pipe, settings)
    pipe.set_progress_bar_config(disable=True)
    return LoadedModel(pipe=pipe, device=device, dtype=str(dtype).removeprefix("torch."),
                       info=model_info(pipe, settings), load_seconds=round(time.monotonic() - started, 2))


# --------------------------------------------------------------------------------------------------
# Generation
# --------------------------------------------------------------------------------------------------


class _StepProgress:
    """Stands in for the pipeline's tqdm bar and reports each finished denoising step.

    The I2V pipeline of diffusers 0.36-0.42 has no ``callback_on_step_end``; every diffusers
    pipeline does call ``self.progress_bar(total=...)`` and ``.update()`` once per step.
    """

    def __init__(self, total: int, on_step: Callable[[int, int], None]):
        self.total, self.done, self.on_step = total, 0, on_step
        on_step(0, total)

    def __enter__(self) -> _StepProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def update(self, n: int = 1) -> None:
        self.done += n
        self.on_step(self.done, self.total)


@contextmanager
def job_overrides(pipe: Any, params: JobParams, on_step: Callable[[int, int], None]):
    """Apply this job's output size, guidance scale and progress reporting; undo them afterwards."""
    processor, guider = pipe.video_processor, pipe.guider
    processor.calculate_default_height_width = lambda **_: (params.height, params.width)
    if not math.isclose(float(getattr(guider, "guidance_scale", params.guidance_scale)), params.guidance_scale):
        pipe.guider = guider.new(guidance_scale=params.guidance_scale)
    pipe.progress_bar = lambda iterable=None, total=None: _StepProgress(total or 0, on_step)
    try:
        yield
    finally:
        del processor.calculate_default_height_width
        del pipe.progress_bar
        if pipe.guider is not guider:
            pipe.guider = guider


def encode_mp4(frames: np.ndarray, path: Path, *, fps: int, crf: int, ffmpeg: str) -> None:
    """Pipe uint8 RGB frames (F, H, W, 3) to ffmpeg and write an H.264 yuv420p MP4."""
    count, height, width, _ = frames.shape
    argv = [ffmpeg, "-hide_banner", "-loglevel", "error", "-y", "-f", "rawvideo", "-pix_fmt", "rgb24",
            "-s", f"{width}x{height}", "-r", str(fps), "-i", "-", "-frames:v", str(count),
            "-vf", "pad=ceil(iw/2)*2:ceil(ih/2)*2", "-c:v", "libx264", "-preset", "medium", "-crf", str(crf),
            "-pix_fmt", "yuv420p", "-movflags", "+faststart", str(path)]
    proc = subprocess.run(argv, input=np.ascontiguousarray(frames).tobytes(), capture_output=True, timeout=600)
    if proc.returncode != 0 or not path.is_file():
        raise EncodeError(f"ffmpeg exited {proc.returncode}: {proc.stderr.decode(errors='replace')[-2000:]}")


def to_uint8(frames: Any) -> np.ndarray:
    """Pipeline output (1, F, H, W, 3) floats in [0, 1] -> (F, H, W, 3) uint8."""
    video = np.asarray(frames)
    video = video[0] if video.ndim == 5 else video
    return (np.clip(video, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


_gpu_lock = threading.Lock()


def generate(model: LoadedModel, job: CheckedJob, out_path: Path, settings: Settings,
             on_step: Callable[[int, int], None]) -> VideoInfo:
    """Run one job on the GPU and write its MP4 (blocking; one at a time)."""
    import torch

    started = time.monotonic()
    p = job.params
    with _gpu_lock:
        try:
            # 1. Per-job options: size, guidance, progress
            with job_overrides(model.pipe, p, on_step):
                # 2. Inputs: seeded generator (CPU generator: same noise on every device)
                generator = torch.Generator(device="cpu").manual_seed(p.seed)
                # 3. Inference
                output = model.pipe(image=job.image, prompt=p.prompt, negative_prompt=p.negative_prompt or None,
                                    num_frames=p.num_frames, num_inference_steps=p.steps, generator=generator,
                                    output_type="np")
            # 4. Frames to uint8
            frames = to_uint8(output.frames)
            del output
        finally:
            if torch.cuda.is_available():
                torch.cuda.empty_cache()
    # 5. Encode and write
    encode_mp4(frames, out_path, fps=settings.fps, crf=settings.crf, ffmpeg=settings.ffmpeg)
    count, height, width, _ = frames.shape
    return VideoInfo(frames=count, height=height, width=width, fps=settings.fps, bytes=out_path.stat().st_size,
                     seconds=round(time.monotonic() - started, 3))


def failure_for(exc: BaseException) -> JobError:
    """Map an exception from a job to a stable code and a fixed message (never ``str(exc)``)."""
    import torch

    if isinstance(exc, torch.cuda.OutOfMemoryError):
        return JobError(code="gpu_out_of_memory", message="the GPU ran out of memory; try fewer frames or offload")
    if isinstance(exc, EncodeError):
        return JobError(code="encode_failed", message="the video could not be encoded")
    if isinstance(exc, ApiError):
        return JobError(code=exc.code, message=exc.message)
    return JobError(code="inference_failed", message="video generation failed; see the server log")


# --------------------------------------------------------------------------------------------------
# Job store and worker
# --------------------------------------------------------------------------------------------------


class JobStore:
    """Jobs in memory, each mirrored to ``<work_dir>/jobs/<id>/job.json`` with its MP4 beside it."""

    def __init__(self, work_dir: Path):
        self.root = work_dir / "jobs"
        self.root.mkdir(parents=True, exist_ok=True)
        self.jobs: dict[str, JobRecord] = {}
        self._seq = 0

    def next_seq(self) -> int:
        """A monotonically increasing submission number (FIFO order)."""
        self._seq += 1
        return self._seq

    def dir(self, job_id: str) -> Path:
        """The folder of a job."""
        return self.root / job_id

    def video_path(self, job_id: str) -> Path:
        """Where a job's MP4 is written."""
        return self.dir(job_id) / "video.mp4"

    def save(self, record: JobRecord) -> None:
        """Keep and persist a record (atomic replace)."""
        self.jobs[record.id] = record
        folder = self.dir(record.id)
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / "job.json.tmp"
        tmp.write_text(record.model_dump_json(indent=1))
        os.replace(tmp, folder / "job.json")

    def load_existing(self) -> int:
        """Reload records left by an earlier process; unfinished ones become failed/``interrupted``."""
        for path in sorted(self.root.glob("*/job.json")):
            try:
                record = JobRecord.model_validate_json(path.read_text())
            except ValueError:
                logger.warning("skipping unreadable %s", path)
                continue
            if record.status in (JobStatus.queued, JobStatus.running):
                record.status, record.finished_at = JobStatus.failed, time.time()
                record.error = JobError(code="interrupted", message="the server stopped before the job finished")
            self._seq = max(self._seq, record.seq)
            self.save(record)
        return len(self.jobs)

    def cleanup(self, ttl_s: float, now: float | None = None) -> int:
        """Delete finished jobs (record and MP4) older than ``ttl_s``; return how many."""
        now = time.time() if now is None else now
        old = [r.id for r in self.jobs.values()
               if r.status in (JobStatus.succeeded, JobStatus.failed) and (r.finished_at or 0) < now - ttl_s]
        for job_id in old:
            shutil.rmtree(self.dir(job_id), ignore_errors=True)
            del self.jobs[job_id]
        return len(old)


class QueueFull(Exception):
    """The bounded queue has no room."""


class Worker:
    """One asyncio task that runs queued jobs one at a time, each in a thread."""

    def __init__(self, settings: Settings, store: JobStore):
        self.settings, self.store = settings, store
        self.queue: asyncio.Queue[tuple[str, Image.Image]] = asyncio.Queue(maxsize=settings.max_queue)
        self.model: LoadedModel | None = None
        self.load_error: ModelLoadError | None = None
        self.running: str | None = None

    def submit(self, job: CheckedJob, request_id: str) -> JobRecord:
        """Record and enqueue a checked job, or raise ``QueueFull``."""
        if self.queue.full():
            raise QueueFull
        record = JobRecord(id=uuid.uuid4().hex, status=JobStatus.queued, seq=self.store.next_seq(),
                           request_id=request_id, created_at=time.time(), params=job.params)
        self.queue.put_nowait((record.id, job.image))
        self.store.save(record)
        return record

    def queue_position(self, record: JobRecord) -> int | None:
        """1 for the next job to run, None when not queued."""
        if record.status != JobStatus.queued:
            return None
        return 1 + sum(1 for r in self.store.jobs.values() if r.status == JobStatus.queued and r.seq < record.seq)

    async def load(self) -> None:
        """Load the model in a thread; remember a failure for /health."""
        try:
            self.model = await asyncio.to_thread(load_model, self.settings)
            logger.info("loaded %s from %s on %s (%s) in %.1fs", PIPELINE_CLASS, self.settings.model_dir.name,
                        self.model.device, self.model.dtype, self.model.load_seconds)
        except ModelLoadError as exc:
            logger.error("model load failed: %s (%s)", exc.code, exc.message, exc_info=exc.__cause__)
            self.load_error = exc
        except Exception as exc:
            logger.exception("model load failed")
            self.load_error = ModelLoadError("model_load_failed", "the model could not be loaded; see the log")
            self.load_error.__cause__ = exc

    async def serve(self) -> None:
        """Load the model, then take jobs in FIFO order forever (jobs are refused with 503 until loaded)."""
        await self.load()
        if self.model is None:
            return
        while True:
            job_id, image = await self.queue.get()
            try:
                await self.run_one(job_id, image)
            finally:
                self.queue.task_done()

    async def run_one(self, job_id: str, image: Image.Image) -> None:
        """Run one job to a terminal state."""
        record = self.store.jobs[job_id]
        record.status, record.started_at, self.running = JobStatus.running, time.time(), job_id
        self.store.save(record)

        def on_step(step: int, total: int) -> None:
            record.progress = {"step": step, "total": total}

        try:
            checked = CheckedJob(image=image, params=record.params)
            out = self.store.video_path(job_id)
            record.video = await asyncio.to_thread(generate, self.model, checked, out, self.settings, on_step)
            record.status = JobStatus.succeeded
        except Exception as exc:
            logger.exception("job %s (request %s) failed", job_id, record.request_id)
            record.status, record.error = JobStatus.failed, failure_for(exc)
        finally:
            record.finished_at, self.running = time.time(), None
            self.store.save(record)

    async def cleanup_loop(self) -> None:
        """Delete old outputs every ``cleanup_interval_s``."""
        while True:
            removed = self.store.cleanup(self.settings.output_ttl_s)
            if removed:
                logger.info("cleaned up %d old jobs", removed)
            await asyncio.sleep(self.settings.cleanup_interval_s)


# --------------------------------------------------------------------------------------------------
# Health
# --------------------------------------------------------------------------------------------------


def health(worker: Worker) -> JSONResponse:
    """``GET /health`` in the shared shape; ``model`` says which folder and how it is set up."""
    s, model = worker.settings, worker.model
    error = {"code": worker.load_error.code, "message": worker.load_error.message} if worker.load_error else None
    info = {"name": s.model_dir.name, "loaded": model is not None, "pipeline": PIPELINE_CLASS,
            "step_distilled": s.is_step_distilled(), "dtype": model.dtype if model else None,
            "target_size": model.info.target_size if model else None,
            "default_steps": model.info.default_steps if model else None, "cpu_offload": s.cpu_offload,
            "vae_tiling": s.vae_tiling, "attention_backend": s.attention_backend or "default", "compile": s.compile,
            "load_seconds": model.load_seconds if model else None}
    return health_response(server=SERVER, version=VERSION, status="ok" if model else ("error" if error else "loading"),
                           model=info, device=model.device if model else None, running=int(worker.running is not None),
                           waiting=worker.queue.qsize(), capacity=s.max_queue, error=error,
                           ffmpeg=shutil.which(s.ffmpeg) is not None)


# --------------------------------------------------------------------------------------------------
# App
# --------------------------------------------------------------------------------------------------


def public(record: JobRecord, worker: Worker) -> dict[str, Any]:
    """The shared job view of a record; ``params`` and ``request_id`` are this server's extras."""
    result = None
    if record.status == JobStatus.succeeded and record.video:
        result = {"url": f"/v1/jobs/{record.id}/video", **record.video.model_dump()}
    return job_view(record.id, record.status.value, queue_position=worker.queue_position(record),
                    progress=record.progress, error=record.error.model_dump() if record.error else None,
                    created_at=record.created_at, started_at=record.started_at, finished_at=record.finished_at,
                    result=result, params=record.params.model_dump(), request_id=record.request_id)


def install_routes(app: FastAPI) -> None:
    """The four endpoints."""

    def worker_of(request: Request) -> Worker:
        return request.app.state.worker

    def record_of(request: Request, job_id: str) -> JobRecord:
        record = worker_of(request).store.jobs.get(job_id)
        if record is None:
            raise job_not_found()
        return record

    @app.post("/v1/jobs", status_code=202)
    async def create_job(body: JobCreate, request: Request) -> dict[str, Any]:
        """Validate and queue a job (202), or refuse it (4xx, 429 when the queue is full, 503 while loading)."""
        worker = worker_of(request)
        if worker.model is None:
            raise model_not_ready(failed=worker.load_error is not None)
        checked = await asyncio.to_thread(check_inputs, body, worker.settings, worker.model.info)
        try:
            record = worker.submit(checked, request_id_of(request))
        except QueueFull:
            raise queue_full(worker.settings.max_queue, worker.settings.retry_after_s) from None
        return public(record, worker)

    @app.get("/v1/jobs/{job_id}")
    async def read_job(job_id: str, request: Request) -> dict[str, Any]:
        """A job's status, queue position, progress, error or result."""
        return public(record_of(request, job_id), worker_of(request))

    @app.get("/v1/jobs/{job_id}/video")
    async def read_job_video(job_id: str, request: Request) -> FileResponse:
        """The MP4 of a succeeded job."""
        record = record_of(request, job_id)
        path = worker_of(request).store.video_path(job_id)
        if record.status != JobStatus.succeeded or not path.is_file():
            raise result_not_ready(record.status.value, record.error.model_dump() if record.error else None)
        return FileResponse(path, media_type="video/mp4", filename=f"{job_id}.mp4")

    @app.get("/health")
    async def read_health(request: Request) -> JSONResponse:
        """Model, device, GPU memory and queue (200 when the model is loaded, else 503)."""
        return health(worker_of(request))


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app; the model is loaded in the lifespan (in a thread, so /health answers meanwhile)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        s = settings or Settings()
        store = JobStore(s.work_dir)
        logger.info("work dir %s: %d earlier jobs", s.work_dir, store.load_existing())
        worker = Worker(s, store)
        app.state.worker = worker
        tasks = [asyncio.create_task(worker.serve(), name="worker"),
                 asyncio.create_task(worker.cleanup_loop(), name="cleanup")]
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
            with suppress(asyncio.CancelledError):
                await asyncio.gather(*tasks, return_exceptions=True)

    app = FastAPI(title="HunyuanVideo-1.5 I2V server", version=VERSION, lifespan=lifespan)
    install_contract(app)
    install_routes(app)
    return app


def main() -> None:
    """``python HunyuanVideo-1.5/api.py``: read the settings and serve."""
    settings = Settings()
    logging.basicConfig(level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_level=settings.log_level)


if __name__ == "__main__":
    main()
