"""App factory and lifespan: build backends, clean up after a killed predecessor, resume unfinished work,
run the callback outbox — every background task supervised."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from types import FrameType
from typing import Any

import uvicorn
from fastapi import FastAPI
from fastapi.responses import JSONResponse
from loguru import logger

from app.api.admin import router as admin_router
from app.api.docs import install_docs
from app.api.errors import install_error_handlers
from app.api.events import router as events_router
from app.api.limits import BodySizeLimit
from app.api.media import PublishedMedia
from app.api.metrics import install_metrics
from app.api.presenter import Presenter
from app.api.routes import router
from app.api.studio import install_studio
from app.core.logging import configure_logging
from app.core.loop_watch import LoopWatch
from app.core.settings import Settings
from app.services import ffmpeg
from app.services.callbacks.outbox import COMPONENT as OUTBOX
from app.services.callbacks.outbox import Outbox
from app.services.health import Health, supervise
from app.services.pipeline.admission import Admission
from app.services.pipeline.context import PipelineContext
from app.services.pipeline.runner import JobRunner
from app.services.publish.local import media_dir, media_signer
from app.services.readiness import readiness_report
from app.services.registry import build_providers
from app.services.worker_pool import CpuWork
from app.state.store import JsonStateStore
from app.state.sweep import sweep_leftovers


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    configure_logging(settings.server.LOG_LEVEL)
    providers = build_providers(settings)  # fails fast on a misnamed backend
    store = JsonStateStore(settings.state.DATA_DIR, io_threads=settings.work.STATE_IO_THREADS)
    health = Health()
    data_dir = settings.state.DATA_DIR

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        watch = LoopWatch(settings.work.LOOP_BLOCK_LIMIT_S) if settings.work.LOOP_BLOCK_LIMIT_S > 0 else None
        if watch is not None:
            watch.start()
        try:
            async with serving(app):
                yield
        finally:
            if watch is not None:
                watch.stop()

    @asynccontextmanager
    async def serving(app: FastAPI) -> AsyncIterator[None]:
        await clean_start(settings)
        presenter = Presenter(providers.publish, settings)
        if settings.scaleout.enabled:  # PostgreSQL + Procrastinate (docs/scale-out.md)
            async with _scaled_out(app, settings, presenter, health):
                yield
            return
        outbox = Outbox(settings, health=health)
        ctx = PipelineContext(settings=settings, store=store, providers=providers, outbox=outbox,
                              cpu=CpuWork.configured(settings))
        runner = JobRunner(ctx, presenter.result, health=health)
        app.state.settings, app.state.store, app.state.presenter = settings, store, presenter
        app.state.admission, app.state.runner = Admission(store, runner, settings), runner
        app.state.outbox = outbox
        app.state.waiter = runner.waiter
        outbox_task = asyncio.create_task(supervise(OUTBOX, outbox.run, health), name="outbox")
        runner.start()
        resumed = await runner.resume_pending()
        logger.info("ready on {} (resumed {} operations)", settings.server.public_base_url, resumed)
        for warning in settings.sync_mode_warnings():
            logger.warning("synchronous mode: {}", warning)
        try:
            yield
        finally:
            await runner.shutdown()
            outbox_task.cancel()
            await asyncio.gather(outbox_task, return_exceptions=True)
            await outbox.aclose()
            await providers.aclose()
            ctx.cpu.close()
            store.close()

    @asynccontextmanager
    async def _scaled_out(app: FastAPI, settings: Settings, presenter: Presenter,
                          health: Health) -> AsyncIterator[None]:
        from app.services.pipeline.scaleout import ScaleOut

        scale = ScaleOut(settings, providers, presenter.result, health)
        await scale.open()
        app.state.settings, app.state.store, app.state.presenter = settings, scale.store, presenter
        app.state.admission, app.state.runner = Admission(scale.store, scale.runner, settings), scale.runner
        app.state.waiter = scale.runner.waiter
        scale.start(worker=settings.scaleout.WORKER_IN_API)
        logger.info("ready on {} (scale-out: state and queue in PostgreSQL{})", settings.server.public_base_url,
                    ", with a worker" if settings.scaleout.WORKER_IN_API else "")
        try:
            yield
        finally:
            await scale.close()
            await providers.aclose()

    app = FastAPI(title="Story2Video Model Service", version="1.0.0", lifespan=lifespan, docs_url=None, redoc_url=None,
                  description="Story script in, narrated short video out. POSTs answer 202; poll "
                              "`/api/v1/operations/{id}` or receive signed callbacks. With SYNC_WAIT_S, or "
                              "`Prefer: wait=N` per request, a POST waits for its operation and answers "
                              "with its result (200), its failure (>= 400) or 504 if it is still running.")
    install_error_handlers(app)
    app.add_middleware(BodySizeLimit, max_bytes=settings.server.MAX_BODY_BYTES)
    app.include_router(router)
    app.include_router(events_router)
    app.include_router(admin_router)
    install_docs(app)  # Swagger UI from the app's own files, no CDN
    install_metrics(app, settings)
    install_studio(app, settings)
    published = media_dir(settings)
    published.mkdir(parents=True, exist_ok=True)
    app.mount("/media", PublishedMedia(published, media_signer(settings)), name="media")

    @app.get("/healthz", tags=["health"])
    async def healthz() -> dict[str, str]:
        """Liveness: the process answers."""
        return {"status": "ok"}

    @app.get("/readyz", tags=["health"], responses={503: {"description": "Something is not ready: see not_ready"}})
    async def readyz() -> JSONResponse:
        """Readiness of every configured backend, of the background machinery (degraded while a part
        fails) and of the data folder (writable, free space); 503 naming what is not ready."""
        report = await readiness_report(providers, health, data_dir, settings.work.MIN_FREE_DISK_MB)
        report["work"] = app.state.runner.load() if hasattr(app.state, "runner") else None
        if settings.scaleout.enabled and hasattr(app.state, "runner"):
            await _queue_readiness(report, app.state.runner)
        return JSONResponse(report, status_code=200 if report["ready"] else 503)

    return app


async def clean_start(settings: Settings) -> None:
    """Before any work: kill FFmpeg groups a killed predecessor left, sweep temp files, set the FFmpeg limit."""
    data_dir = settings.state.DATA_DIR
    run_dir = data_dir / "run" / "ffmpeg"
    killed = await asyncio.to_thread(ffmpeg.kill_orphans, run_dir)
    swept = await asyncio.to_thread(sweep_leftovers, data_dir)
    if killed or swept:
        logger.warning("start-up clean-up: killed {} orphan FFmpeg groups, removed {} temp entries",
                       killed, len(swept))
    ffmpeg.configure(run_dir, settings.work.FFMPEG_MAX_PROCESSES, nice=settings.work.FFMPEG_NICE)


async def _queue_readiness(report: dict[str, Any], runner: Any) -> None:
    """Scale-out: the database and the queue (jobs waiting, the oldest one's age, live workers)."""
    try:
        report["queue"] = {"ready": True, **await runner.queue_report()}
    except Exception as exc:
        report["queue"] = {"ready": False, "detail": f"database: {type(exc).__name__}: {exc}"}
        report["ready"] = False
        report["not_ready"].append("database")


class _Server(uvicorn.Server):
    """uvicorn's server, but a stop signal first ends every request waiting for an operation (each
    answers 504 at once; the operation resumes at the next start), since uvicorn lets open requests
    finish before it stops and a synchronous one may wait SYNC_WAIT_S."""

    def __init__(self, config: uvicorn.Config, app: FastAPI):
        super().__init__(config)
        self.fastapi_app = app

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        waiter = getattr(self.fastapi_app.state, "waiter", None)
        if waiter is not None:
            waiter.release_all()
        super().handle_exit(sig, frame)


def serve(settings: Settings | None = None) -> None:
    settings = settings or Settings()
    app = create_app(settings)
    # asyncio's own loop, not uvloop: uvloop starts a child process with fork(), which copies the whole
    # service's memory map in the loop thread (27 ms each at 300 MB), where asyncio's can vfork (1.4 ms);
    # a render starts dozens of FFmpeg and espeak-ng processes
    config = uvicorn.Config(app, host=settings.server.bind_host, port=settings.server.PORT, log_config=None,
                            loop="asyncio")
    _Server(config, app).run()


if __name__ == "__main__":
    serve()
