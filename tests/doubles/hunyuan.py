"""A double of our HunyuanVideo-1.5 server (HunyuanVideo-1.5/api.py): same paths, fields, statuses and errors.

POST /v1/jobs validates like the server (extra fields refused, prompt, 4k+1 frames, steps, seed, guidance,
a decodable base64 image, both-or-neither size in multiples of 16) and answers 202 with the job; errors are
`{code, message, request_id, details?}` (422 invalid_request / prompt_empty / num_frames_invalid / …,
413 image_too_large, 429 queue_full with Retry-After, 503 model_loading, 404 job_not_found, 409 job_not_finished).
Each GET of a job advances it: queued → running (progress) → succeeded (an MP4 of num_frames at 24 fps in
the image's bucket size, `result.url`) or failed. With `latency_s` set the double keeps time as the server
does instead: one job at a time in submission order, each running `latency_s` with its step count moving
along; `runs` records each job's (job_id, start, end) in time.time(). /health is the servers' shared shape
(503 while loading).

Scriptable: `queue_full` (next N submits answer 429), `http_errors[endpoint]` (500 internal_error first),
`fail_with` ((code, message) the next jobs fail with), `stuck` (running forever), `loading` (model not
loaded), `hang` (endpoints that never answer until released). Endpoints: submit, status, video, health.
"""

from __future__ import annotations

import base64
import binascii
import io
import math
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from PIL import Image
from pydantic import BaseModel, ConfigDict

from tests.doubles.clips import make_clip
from tests.doubles.local_server import LocalServerDouble, Refused, answer_refusals, error
from tests.doubles.serving import serve_double

FPS, MAX_FRAMES, MAX_STEPS, TARGET_SIZE, FACTOR = 24, 121, 100, 320, 16


class JobCreate(BaseModel):
    """Same fields as HunyuanVideo-1.5/api.py JobCreate."""

    model_config = ConfigDict(extra="forbid")

    image: str
    prompt: str
    negative_prompt: str = ""
    num_frames: int = 121
    steps: int | None = None
    seed: int | None = None
    height: int | None = None
    width: int | None = None
    guidance_scale: float | None = None


def bucket_for(height: int, width: int) -> tuple[int, int]:
    """The image's aspect ratio at about TARGET_SIZE² pixels, in multiples of 16."""
    scale = math.sqrt(TARGET_SIZE**2 / (height * width))
    return max(FACTOR, round(height * scale / FACTOR) * FACTOR), max(FACTOR, round(width * scale / FACTOR) * FACTOR)


def check_job(req: JobCreate) -> dict[str, Any]:
    """The resolved params of a job, or Refused with the server's code."""
    prompt = req.prompt.strip()
    if not prompt:
        raise Refused(422, "prompt_empty", "prompt must not be empty")
    if not 1 <= req.num_frames <= MAX_FRAMES or (req.num_frames - 1) % 4:
        raise Refused(422, "num_frames_invalid", f"num_frames must be 4k+1 and between 1 and {MAX_FRAMES}")
    steps = 50 if req.steps is None else req.steps
    if not 1 <= steps <= MAX_STEPS:
        raise Refused(422, "steps_invalid", f"steps must be between 1 and {MAX_STEPS}")
    if req.seed is not None and not 0 <= req.seed <= 2**63 - 1:
        raise Refused(422, "seed_invalid", f"seed must be between 0 and {2**63 - 1}")
    guidance = 6.0 if req.guidance_scale is None else req.guidance_scale
    if not 1.0 <= guidance <= 20.0:
        raise Refused(422, "guidance_invalid", "guidance_scale must be between 1.0 and 20.0")
    image = decode(req.image)
    if (req.height is None) != (req.width is None):
        raise Refused(422, "size_incomplete", "give both height and width, or neither")
    if req.height is not None:
        if req.height % FACTOR or req.width % FACTOR or min(req.height, req.width) < 2 * FACTOR:
            raise Refused(422, "size_invalid", f"height and width must be multiples of {FACTOR} and at least 32")
        if req.height * req.width > TARGET_SIZE**2:
            raise Refused(422, "size_too_large", f"height*width must be at most {TARGET_SIZE}^2 for this model")
    height, width = (req.height, req.width) if req.height else bucket_for(image.height, image.width)
    return {"prompt": prompt, "negative_prompt": req.negative_prompt.strip(), "num_frames": req.num_frames,
            "steps": steps, "seed": 1234 if req.seed is None else req.seed, "height": height, "width": width,
            "guidance_scale": guidance}


def decode(data: str) -> Image.Image:
    try:
        raw = base64.b64decode(data.partition(",")[2] if data.startswith("data:") else data, validate=True)
        with Image.open(io.BytesIO(raw)) as probe:
            probe.load()
            return probe.convert("RGB")
    except (binascii.Error, ValueError):
        raise Refused(422, "image_invalid", "image is not valid base64") from None
    except OSError:
        raise Refused(422, "image_invalid", "image could not be decoded (PNG, JPEG or WebP expected)") from None


#: Clips already made, by (frames, width, height): made once per process (FFmpeg), copied after.
_CLIPS: dict[tuple[int, int, int], bytes] = {}


def clip_bytes(path: Path, frames: int, width: int, height: int) -> bytes:
    """Write a test-pattern MP4 of `frames` at FPS to `path` (from the cache when made before); its bytes."""
    key = (frames, width, height)
    if key in _CLIPS:
        path.write_bytes(_CLIPS[key])
    else:
        _CLIPS[key] = make_clip(path, seconds=frames / FPS, width=width, height=height, fps=FPS)
    return _CLIPS[key]


class HunyuanDouble(LocalServerDouble):
    def __init__(self, tmp_dir: Path, *, latency_s: float | None = None):
        super().__init__()
        self.tmp_dir = tmp_dir
        self.latency_s = latency_s
        self.jobs: dict[str, dict[str, Any]] = {}
        self.bodies: list[dict[str, Any]] = []
        self.runs: list[tuple[str, float, float]] = []
        self.queue_full = 0
        self.fail_with: tuple[str, str] | None = None
        self.stuck = False
        self.loading = False
        self._free_at = 0.0

    async def submit(self, body: JobCreate) -> JSONResponse:
        await self._enter("submit")
        if self.loading:
            raise Refused(503, "model_loading", "the model is not loaded; see GET /health")
        params = check_job(body)
        if self.queue_full:
            self.queue_full -= 1
            raise Refused(429, "queue_full", "8 requests are already waiting; retry later",
                          {"capacity": 8, "retry_after_s": 1}, {"Retry-After": "1"})
        self.bodies.append(body.model_dump())
        job_id, now = uuid.uuid4().hex, time.time()
        self.jobs[job_id] = {"job_id": job_id, "status": "queued", "created_at": now, "started_at": None,
                             "finished_at": None, "progress": None, "error": None, "result": None,
                             "params": params, "request_id": uuid.uuid4().hex}
        if self.latency_s is not None:  # the GPU takes the jobs one at a time, in order
            start = max(now, self._free_at)
            self._free_at = start + self.latency_s
            self.jobs[job_id]["_slot"] = (start, self._free_at)
        return JSONResponse(self.public(job_id), status_code=202)

    async def status(self, job_id: str) -> dict[str, Any]:
        await self._enter("status")
        job = self._job(job_id)
        self._advance(job)
        return self.public(job_id)

    async def video(self, job_id: str) -> Response:
        await self._enter("video")
        job = self._job(job_id)
        if job["status"] == "failed":
            raise Refused(409, "job_failed", "the job failed; it has no result", {"error": job["error"]})
        if job["status"] != "succeeded":
            raise Refused(409, "job_not_finished", f"the job is {job['status']}")
        return Response((self.tmp_dir / f"{job_id}.mp4").read_bytes(), media_type="video/mp4")

    async def health(self) -> JSONResponse:
        await self._enter("health")
        state = "loading" if self.loading else "ok"
        model = {"name": "HunyuanVideo-1.5-Diffusers-480p_i2v", "loaded": not self.loading,
                 "pipeline": "HunyuanVideo15ImageToVideoPipeline", "target_size": TARGET_SIZE}
        body = {"status": state, "server": "hunyuan-video-1.5", "version": "1.1.0", "model": model,
                "device": None if self.loading else "cuda", "gpu": None,
                "queue": {"running": 0, "waiting": 0, "capacity": 8}, "error": None, "ffmpeg": True}
        return JSONResponse(body, status_code=503 if self.loading else 200)

    def _advance(self, job: dict[str, Any]) -> None:
        steps = job["params"]["steps"]
        if self.latency_s is not None:
            self._advance_in_time(job)
        elif job["status"] == "queued":
            job.update(status="running", started_at=time.time(), progress={"step": 0, "total": steps})
        elif job["status"] == "running" and not self.stuck:
            job["finished_at"] = time.time()
            if self.fail_with:
                job.update(status="failed", error={"code": self.fail_with[0], "message": self.fail_with[1]})
            else:
                self._render(job)

    def _advance_in_time(self, job: dict[str, Any]) -> None:
        """Where a timed job is now: queued before its slot, running through it, then finished."""
        if job["status"] in ("succeeded", "failed"):
            return
        (start, end), now, steps = job["_slot"], time.time(), job["params"]["steps"]
        if now < start:
            return
        if now < end or self.stuck:
            step = min(int(steps * (now - start) / self.latency_s), steps)
            job.update(status="running", started_at=start, progress={"step": step, "total": steps})
            return
        job.update(started_at=start, finished_at=end)
        self.runs.append((job["job_id"], start, end))
        if self.fail_with:
            job.update(status="failed", error={"code": self.fail_with[0], "message": self.fail_with[1]})
        else:
            self._render(job)

    def _render(self, job: dict[str, Any]) -> None:
        p, path = job["params"], self.tmp_dir / f"{job['job_id']}.mp4"
        data = clip_bytes(path, p["num_frames"], p["width"], p["height"])
        job.update(status="succeeded", progress={"step": p["steps"], "total": p["steps"]},
                   result={"url": f"/v1/jobs/{job['job_id']}/video", "frames": p["num_frames"], "height": p["height"],
                           "width": p["width"], "fps": FPS, "bytes": len(data), "seconds": 1.0})

    def _job(self, job_id: str) -> dict[str, Any]:
        if job_id not in self.jobs:
            raise Refused(404, "job_not_found", f"no job {job_id[:64]!r}")
        return self.jobs[job_id]

    def public(self, job_id: str) -> dict[str, Any]:
        job = {k: v for k, v in self.jobs[job_id].items() if not k.startswith("_")}
        return {**job, "queue_position": 1 if job["status"] == "queued" else None}

    @property
    def app(self) -> FastAPI:
        app = FastAPI()
        app.add_api_route("/v1/jobs", self.submit, methods=["POST"], status_code=202)
        app.add_api_route("/v1/jobs/{job_id}", self.status, methods=["GET"])
        app.add_api_route("/v1/jobs/{job_id}/video", self.video, methods=["GET"])
        app.add_api_route("/health", self.health, methods=["GET"])

        @app.middleware("http")
        async def request_id(request: Request, call_next):
            request.state.request_id = request.headers.get("x-request-id", "")[:64] or uuid.uuid4().hex
            response = await call_next(request)
            response.headers["X-Request-ID"] = request.state.request_id
            return response

        answer_refusals(app)

        @app.exception_handler(RequestValidationError)
        async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
            errors = [{"field": ".".join(str(p) for p in e["loc"] if p != "body"), "problem": e["msg"]}
                      for e in exc.errors()]
            first = errors[0] if errors else {"field": "body", "problem": "invalid request"}
            return error(request, 422, "invalid_request", f"{first['field'] or 'body'}: {first['problem']}",
                         {"errors": errors})

        return app


@contextmanager
def serve_hunyuan(*, latency_s: float | None = None) -> Iterator[HunyuanDouble]:
    """Run a HunyuanDouble; yield it with `base_url` set. Hanging requests are released on exit."""
    with tempfile.TemporaryDirectory() as tmp:
        double = HunyuanDouble(Path(tmp), latency_s=latency_s)
        with serve_double(double, double.app, health_path="/docs") as served:
            yield served
