"""The studio: server-rendered pages for the people who review stories and run the service."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from app.api.studio.routes import HERE, router
from app.core.settings import Settings


def install_studio(app: FastAPI, settings: Settings) -> None:
    """Serve the studio at /studio (pages) and /studio/static (its script and style), unless disabled."""
    if not settings.studio.STUDIO_ENABLED:
        return
    app.include_router(router)
    app.mount("/studio/static", StaticFiles(directory=HERE / "static"), name="studio-static")
