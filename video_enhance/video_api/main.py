"""The video_enhance HTTP service. Run from ``video_enhance/``: ``python -m video_api.main`` (port 6010).

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

Here the shared pieces are ``contract.py`` (a copy of the block in the other two servers). Engines load before the
port answers, so /health is "ok" whenever it answers; result = {url, width, height, fps, frames, duration_s,
has_audio, engines, degraded, seconds}; job extras: ``stage``, ``scale``, ``multi``; progress counts pipeline steps.

    POST /v1/enhance?scale=2&multi=2   body: MP4 bytes (video/mp4)   -> waits, answers the enhanced MP4
    POST /v1/enhance                   body: JSON {url, scale, multi} -> the same, fetching an allow-listed URL
    POST /v1/jobs                      the same inputs                -> 202 with the job; poll, then download
    GET  /v1/jobs/{job_id}             the job (stage: sr:ffmpeg, interp:rife, encode ...)
    GET  /v1/jobs/{job_id}/result      the MP4 (result.url; 409 until it succeeded)
    GET  /health                       engines (model), queue, GPU memory; extras: limits, url_input
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import sys
from collections.abc import AsyncIterator, Callable
from typing import Any

import uvicorn
from fastapi import FastAPI, Request, Response
from fastapi.responses import FileResponse, JSONResponse
from starlette.background import BackgroundTask

from .contract import (
    ApiError,
    error_response,
    health_response,
    install_contract,
    job_not_found,
    queue_full,
    result_not_ready,
)
from .engines import EngineSet, load_engines, select_engines
from .errors import EngineNotConfigured, EnhanceError
from .inputs import check_url, download, options_from_query, read_json, save_upload
from .jobs import Job, JobQueue, JobStatus, QueueFull, new_job
from .media import kill_active, probe
from .pipeline import EnhanceResult, EnhanceSpec, check_limits, enhance
from .settings import Settings

logger = logging.getLogger("video_api")
SERVER = "video_enhance"
VERSION = "1.1.0"
#: Job error codes that are the caller's fault (422 on the synchronous route); anything else is a 500.
INPUT_CODES = {"invalid_video", "video_too_long", "video_too_large", "output_too_large", "output_too_fast"}


def device_of(engines: EngineSet) -> str:
    """``cuda`` when a GPU engine is in use and torch sees a GPU, else ``cpu`` (FFmpeg)."""
    torch = sys.modules.get("torch")
    gpu_engine = engines.sr.gpu or engines.interp.gpu
    return "cuda" if gpu_engine and torch is not None and torch.cuda.is_available() else "cpu"


def make_runner(engines: EngineSet, settings: Settings) -> Callable[[Job], EnhanceResult]:
    """The function the queue's worker thread runs for each job."""

    def on_stage(job: Job, stage: str, done: int, total: int) -> None:
        job.stage, job.progress = stage, {"step": done, "total": total}

    def run(job: Job) -> EnhanceResult:
        try:
            result = enhance(job.input, job.output, job.spec, engines=engines, settings=settings, work=job.dir,
                             on_stage=lambda *progress: on_stage(job, *progress))
            if job.progress:
                job.progress = {"step": job.progress["total"], "total": job.progress["total"]}
            return result
        finally:
            torch = sys.modules.get("torch")
            if torch is not None and torch.cuda.is_available():
                torch.cuda.empty_cache()

    return run


async def accept(request: Request, settings: Settings, queue: JobQueue) -> Job:
    """Validate the request, store its video, probe it, and queue the job (4xx before any work)."""
    if not queue.has_room():
        raise queue_full(queue.max_waiting, settings.retry_after_s)
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type == "application/json":
        body = await read_json(request, max_bytes=settings.max_json_bytes)
        check_url(body.url, settings.allowed_host_list)
        job = new_job(EnhanceSpec(body.scale, body.multi), settings.work_dir)
        fetch = download(body.url, job.input, allowed_hosts=settings.allowed_host_list,
                         max_bytes=settings.max_upload_bytes, timeout_s=settings.fetch_timeout_s)
    elif media_type.startswith("video/") or media_type == "application/octet-stream":
        options = options_from_query(dict(request.query_params))
        job = new_job(EnhanceSpec(options.scale, options.multi), settings.work_dir)
        fetch = save_upload(request, job.input, max_bytes=settings.max_upload_bytes)
    else:
        raise ApiError(415, "unsupported_media_type", "send the MP4 bytes as video/mp4 (with ?scale=&multi=), or "
                       "JSON {url, scale, multi}")
    try:
        await fetch
        check_limits(await asyncio.to_thread(probe, job.input), job.spec, settings)
        return queue.submit(job)
    except EnhanceError as exc:
        shutil.rmtree(job.dir, ignore_errors=True)
        raise ApiError(422, exc.code, exc.message) from None
    except QueueFull:
        shutil.rmtree(job.dir, ignore_errors=True)
        raise queue_full(queue.max_waiting, settings.retry_after_s) from None
    except BaseException:
        shutil.rmtree(job.dir, ignore_errors=True)
        raise


def job_or_404(queue: JobQueue, job_id: str) -> Job:
    job = queue.get(job_id)
    if job is None:
        raise job_not_found()
    return job


def result_response(job: Job, queue: JobQueue) -> FileResponse:
    """A job's MP4; 409 before it succeeded (``job_not_finished``, ``job_failed``)."""
    if job.status is not JobStatus.SUCCEEDED:
        raise result_not_ready(job.status.value, job.error)
    return mp4_response(job, queue, forget=False)


def synchronous_response(request: Request, job: Job, queue: JobQueue) -> Response:
    """``POST /v1/enhance``: the MP4, or the job's failure as an error answer (422 when the input was at fault)."""
    if job.status is JobStatus.FAILED:
        status = 422 if job.error["code"] in INPUT_CODES else 500
        return error_response(request, status, job.error["code"], job.error["message"], {"job_id": job.id})
    return mp4_response(job, queue, forget=True)


def mp4_response(job: Job, queue: JobQueue, *, forget: bool) -> FileResponse:
    """The enhanced MP4 with which engines made it; ``forget`` drops the job once it is sent."""
    engines = ";".join(f"{k}={v}" for k, v in job.result.engines.items())
    headers = {"X-Job-Id": job.id, "X-Engines": engines, "X-Degraded": str(job.result.degraded).lower()}
    background = BackgroundTask(queue.forget, job) if forget else None
    return FileResponse(job.output, media_type="video/mp4", headers=headers, background=background)


def create_app(settings: Settings | None = None) -> FastAPI:
    """The FastAPI app; engines are chosen and loaded in the lifespan, never at import."""
    settings = settings or Settings()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        settings.work_dir.mkdir(parents=True, exist_ok=True)
        try:
            chosen = select_engines(settings)
            auto = {"sr": settings.sr_engine == "auto", "interp": settings.interp_engine == "auto"}
            app.state.engines = await asyncio.to_thread(load_engines, chosen, auto=auto)
        except EngineNotConfigured as exc:
            logger.error("cannot start: %s", exc.message)
            raise
        queue = JobQueue(make_runner(app.state.engines, settings), max_waiting=settings.max_queue,
                         keep=settings.keep_jobs, ttl_s=settings.job_ttl_s, timeout_s=settings.job_timeout_s)
        app.state.queue = queue
        queue.start()
        logger.info("engines %s; listening on http://%s:%d", app.state.engines.describe(), settings.host,
                    settings.port)
        try:
            yield
        finally:
            await queue.stop()
            kill_active()

    app = FastAPI(title="video_enhance", version=VERSION, lifespan=lifespan)
    install_contract(app)

    @app.post("/v1/enhance", response_class=Response, responses={200: {"content": {"video/mp4": {}}}})
    async def enhance_video(request: Request) -> Response:
        """Enhance one video and answer it (waits for its turn on the GPU)."""
        queue = request.app.state.queue
        job = await accept(request, settings, queue)
        await job.done.wait()
        return synchronous_response(request, job, queue)

    @app.post("/v1/jobs", status_code=202)
    async def create_job(request: Request) -> dict[str, Any]:
        """Queue one video; poll the job, then download its result."""
        queue: JobQueue = request.app.state.queue
        return queue.view(await accept(request, settings, queue))

    @app.get("/v1/jobs/{job_id}")
    async def read_job(job_id: str, request: Request) -> dict[str, Any]:
        """A job's status, queue position, progress, error and result."""
        queue: JobQueue = request.app.state.queue
        return queue.view(job_or_404(queue, job_id))

    @app.get("/v1/jobs/{job_id}/result", response_class=Response)
    async def read_job_result(job_id: str, request: Request) -> Response:
        """The enhanced MP4 of a succeeded job."""
        queue = request.app.state.queue
        return result_response(job_or_404(queue, job_id), queue)

    @app.get("/health")
    async def read_health(request: Request) -> JSONResponse:
        """Engines, queue and GPU memory (always "ok": the engines load before the port answers)."""
        queue: JobQueue = request.app.state.queue
        engines: EngineSet = request.app.state.engines
        names = engines.describe()
        model = {"name": "+".join(sorted(set(names.values()))), "loaded": True, "engines": names}
        return health_response(server=SERVER, version=VERSION, status="ok", model=model, device=device_of(engines),
                               running=int(queue.running is not None), waiting=queue.waiting.qsize(),
                               capacity=queue.max_waiting, error=None,
                               limits={"max_upload_bytes": settings.max_upload_bytes, "scales": [1, 2, 4],
                                       "multis": [1, 2, 4], "max_input_seconds": settings.max_input_seconds,
                                       "max_input_pixels": settings.max_input_pixels,
                                       "max_output_pixels": settings.max_output_pixels,
                                       "max_output_fps": settings.max_output_fps},
                               url_input=bool(settings.allowed_host_list))

    return app


def main() -> None:
    """``python -m video_api.main``: serve on ENHANCE_HOST:ENHANCE_PORT."""
    settings = Settings()
    logging.basicConfig(level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_level=settings.log_level.lower())


if __name__ == "__main__":
    main()
