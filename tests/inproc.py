"""The service's layers wired in this process (no HTTP): admission → runner → pipeline → backends.

Fast tests of what needs no server: a request is admitted, its operation runs to its end, and the
test reads the operation and the story from the state store.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.api.presenter import Presenter
from app.core.settings import Settings
from app.models.operation import Operation
from app.models.requests import OperationRequest
from app.services.callbacks.outbox import Outbox
from app.services.pipeline.admission import Admission
from app.services.pipeline.context import PipelineContext
from app.services.pipeline.runner import JobRunner
from app.services.registry import build_providers
from app.state.store import JsonStateStore, StateStore

#: Small frames keep FFmpeg fast; every test may override any setting by its documented name.
SMALL = {"VIDEO_WIDTH": 320, "VIDEO_HEIGHT": 180, "VIDEO_FPS": 12, "SHOT_MIN_S": 1.0, "EMBEDDED_PROCESSES": 0}


@dataclass
class Service:
    settings: Settings
    store: StateStore
    admission: Admission
    runner: JobRunner
    presenter: Presenter

    async def run(self, request: OperationRequest, *, timeout_s: float = 120.0) -> Operation:
        """Admit `request`, wait for its operation to end, and return it."""
        op, _ = await self.admission.admit(request)
        async with asyncio.timeout(timeout_s):
            while True:
                current = await self.store.get_operation(op.operation_id)
                assert current is not None
                if current.status.terminal:
                    return current
                await asyncio.sleep(0.05)

    async def view(self, operation_id: str) -> dict[str, Any]:
        op = await self.store.get_operation(operation_id)
        assert op is not None
        return self.presenter.operation(op, await self.store.get_story(op.story_id))


@asynccontextmanager
async def service(data_dir: Path, **settings: Any) -> AsyncIterator[Service]:
    config = Settings(DATA_DIR=data_dir, **{**SMALL, **settings})
    store = JsonStateStore(config.state.DATA_DIR)
    providers = build_providers(config)
    outbox = Outbox(config)
    presenter = Presenter(providers.publish, config)
    runner = JobRunner(PipelineContext(settings=config, store=store, providers=providers, outbox=outbox),
                       presenter.result)
    runner.start()
    try:
        yield Service(config, store, Admission(store, runner, config), runner, presenter)
    finally:
        await runner.shutdown()
        await outbox.aclose()
        await providers.aclose()
        store.close()
