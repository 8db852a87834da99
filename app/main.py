"""App factory and lifespan: build backends, resume unfinished work, run the callback outbox."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import uvicorn
from fastapi import FastAPI
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from loguru import logger

from app.api.admin import router as admin_router
from app.api.docs import install_docs
from app.api.errors import install_error_handlers
from app.api.events import router as events_router
from app.api.limits import BodySizeLimit
from app.api.metrics import install_metrics
from app.api.presenter import Presenter
from app.api.routes import router
from app.api.studio import install_studio
from app.core.logging import configure_logging
from app.core.settings import Settings
from app.services.callbacks.outbox import Outbox
from app.services.pipeline.admission import Admission
from app.services.pipeline.context import PipelineContext
from app.services.pipeline.runner import JobRunner
from app.services.publish.local import media_dir
from app.services.readiness import readiness_report
from app.services.registry import build_providers
from app.state.store import StateStore


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    configure_logging(settings.server.LOG_LEVEL)
    providers = build_providers(settings)  # fails fast on a misnamed backend
    store = StateStore(settings.state.DATA_DIR)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        outbox = Outbox(settings)
        ctx = PipelineContext(settings=settings, store=store, providers=providers, outbox=outbox)
        presenter = Presenter(providers.publish, settings)
        runner = JobRunner(ctx, presenter.result)
        app.state.settings, app.state.store, app.state.presenter = settings, store, presenter
        app.state.admission, app.state.runner = Admission(store, runner, settings), runner
        app.state.outbox = outbox
        outbox_task = asyncio.create_task(outbox.run(), name="outbox")
        resumed = await runner.resume_pending()
        logger.info("ready on {} (resumed {} operations)", settings.server.public_base_url, resumed)
        try:
            yield
        finally:
            await runner.shutdown()
            outbox_task.cancel()
            await asyncio.gather(outbox_task, return_exceptions=True)
            await outbox.aclose()
            await providers.aclose()

    app = FastAPI(title="Story2Video Model Service", version="1.0.0", lifespan=lifespan, docs_url=None, redoc_url=None,
                  description="Story script in, narrated short video out. POSTs answer 202; poll "
                              "`/api/v1/operations/{id}` or receive signed callbacks.")
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
    app.mount("/media", StaticFiles(directory=published), name="media")

    @app.get("/healthz", tags=["health"])
    async def healthz() -> dict[str, str]:
        """Liveness: the process answers."""
        return {"status": "ok"}

    @app.get("/readyz", tags=["health"])
    async def readyz() -> JSONResponse:
        """Readiness of every configured backend; 503 naming the ones that are not ready."""
        report = await readiness_report(providers)
        return JSONResponse(report, status_code=200 if report["ready"] else 503)

    return app


def serve(settings: Settings | None = None) -> None:
    settings = settings or Settings()
    app = create_app(settings)
    uvicorn.run(app, host=settings.server.bind_host, port=settings.server.PORT, log_config=None)


if __name__ == "__main__":
    serve()
