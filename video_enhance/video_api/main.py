"""The video_enhance HTTP service. Run from ``video_enhance/``: ``python -m video_api.main`` (port 6010).

    POST /v1/enhance?scale=2&multi=2   body: MP4 bytes (video/mp4)   -> waits, answers the enhanced MP4
    POST /v1/enhance                   body: JSON {url, scale, multi} -> the same, fetching an allow-listed URL
    POST /v1/jobs                      the same inputs                -> 202 {job_id, ...}; poll, then download
    GET  /v1/jobs/{job_id}             status, stage, error {code, message}, result
    GET  /v1/jobs/{job_id}/result      the MP4 (409 until it succeeded)
    GET  /health                       engines, queue, GPU memory
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import shutil
import sys
import uuid
from collections.abc import AsyncIterator
from typing import Any

import uvicorn
from fastapi import FastAPI, Request, Response
from fastapi.responses import FileResponse, JSONResponse
from starlette.background import BackgroundTask

from .engines import EngineSet, load_engines, select_engines
from .errors import ApiError, EngineNotConfigured, EnhanceError, install_error_handlers
from .inputs import check_url, download, options_from_query, read_json, save_upload
from .jobs import Job, JobQueue, JobStatus, QueueFull, new_job
from .media import kill_active, probe
from .pipeline import EnhanceResult, EnhanceSpec, check_limits, enhance
from .settings import Settings

logger = logging.getLogger("video_api")
REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
#: Job error codes that are the caller's fault (422 on the synchronous route); anything else is a 500.
INPUT_CODES = {"invalid_video", "video_too_long", "video_too_large", "output_too_large", "output_too_fast"}


def gpu_report() -> dict:
    """GPU memory as torch sees it (``{"available": false}`` when no engine loaded torch)."""
    torch = sys.modules.get("torch")
    if torch is None or not torch.cuda.is_available():
        return {"available": False}
    mib = 1024 * 1024
    return {"available": True, "device": torch.cuda.get_device_name(0),
            "allocated_mib": round(torch.cuda.memory_allocated() / mib),
            "reserved_mib": round(torch.cuda.memory_reserved() / mib),
            "max_allocated_mib": round(torch.cuda.max_memory_allocated() / mib),
            "total_mib": round(torch.cuda.get_device_properties(0).total_memory / mib)}


def make_runner(engines: EngineSet, settings: Settings):
    """The function the queue's worker thread runs for each job."""

    def run(job: Job) -> EnhanceResult:
        try:
            return enhance(job.input, job.output, job.spec, engines=engines, settings=settings, work=job.dir,
                           on_stage=lambda stage: setattr(job, "stage", stage))
        finally:
            torch = sys.modules.get("torch")
            if torch is not None and torch.cuda.is_available():
                torch.cuda.empty_cache()

    return run


async def accept(request: Request, settings: Settings, queue: JobQueue) -> Job:
    """Validate the request, store its video, probe it, and queue the job (4xx before any work)."""
    if not queue.has_room():
        raise ApiError(429, "queue_full", "the enhancement queue is full; retry later")
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
        raise ApiError(429, "queue_full", "the enhancement queue is full; retry later") from None
    except BaseException:
        shutil.rmtree(job.dir, ignore_errors=True)
        raise


def job_or_404(queue: JobQueue, job_id: str) -> Job:
    job = queue.get(job_id)
    if job is None:
        raise ApiError(404, "job_not_found", f"no job {job_id!r} (finished jobs are kept for a while, then dropped)")
    return job


def result_response(job: Job, queue: JobQueue, *, forget: bool) -> Response:
    """The finished job's MP4, or its error as ``{code, message}``."""
    if job.status is JobStatus.FAILED:
        status = 422 if job.error["code"] in INPUT_CODES else 500
        return JSONResponse({**job.error, "job_id": job.id}, status_code=status)
    if job.status is not JobStatus.SUCCEEDED:
        raise ApiError(409, "job_not_finished", f"job {job.id} is {job.status.value}")
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

    app = FastAPI(title="video_enhance", version="1.0.0", lifespan=lifespan)
    install_error_handlers(app)

    @app.middleware("http")
    async def request_id(request: Request, call_next: Any) -> Response:
        incoming = request.headers.get("x-request-id", "")
        request.state.request_id = incoming if REQUEST_ID.match(incoming) else uuid.uuid4().hex
        response = await call_next(request)
        response.headers["X-Request-Id"] = request.state.request_id
        return response

    @app.post("/v1/enhance", response_class=Response, responses={200: {"content": {"video/mp4": {}}}})
    async def enhance_video(request: Request) -> Response:
        """Enhance one video and answer it (waits for its turn on the GPU)."""
        queue = request.app.state.queue
        job = await accept(request, settings, queue)
        await job.done.wait()
        return result_response(job, queue, forget=True)

    @app.post("/v1/jobs", status_code=202)
    async def create_job(request: Request) -> dict:
        """Queue one video; poll the job, then download its result."""
        return (await accept(request, settings, request.app.state.queue)).public()

    @app.get("/v1/jobs/{job_id}")
    async def read_job(job_id: str, request: Request) -> dict:
        """A job's status, stage, error and result."""
        return job_or_404(request.app.state.queue, job_id).public()

    @app.get("/v1/jobs/{job_id}/result", response_class=Response)
    async def read_job_result(job_id: str, request: Request) -> Response:
        """The enhanced MP4 of a succeeded job."""
        queue = request.app.state.queue
        return result_response(job_or_404(queue, job_id), queue, forget=False)

    @app.get("/health")
    async def read_health(request: Request) -> dict:
        """Engines, queue and GPU memory."""
        queue: JobQueue = request.app.state.queue
        return {"status": "ok", "engines": request.app.state.engines.describe(),
                "queue": {"running": int(queue.running is not None), "waiting": queue.waiting.qsize(),
                          "max_waiting": queue.max_waiting},
                "limits": {"max_upload_bytes": settings.max_upload_bytes, "scales": [1, 2, 4], "multis": [1, 2, 4],
                           "max_input_seconds": settings.max_input_seconds},
                "url_input": bool(settings.allowed_host_list), "gpu": gpu_report()}

    return app


def main() -> None:
    """``python -m video_api.main``: serve on ENHANCE_HOST:ENHANCE_PORT."""
    settings = Settings()
    logging.basicConfig(level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_level=settings.log_level.lower())


if __name__ == "__main__":
    main()
