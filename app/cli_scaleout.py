"""Commands of the scale-out mode (docs/scale-out.md): `worker`, `db upgrade`, `db import-json`.

Registered on the main CLI by `app/cli.py`; each needs DATABASE_URL."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from loguru import logger

if TYPE_CHECKING:
    from app.core.settings import Settings

db = typer.Typer(add_completion=False, help="The PostgreSQL schema of the scale-out mode")


def _settings() -> Settings:
    from app.core.logging import configure_logging
    from app.core.settings import Settings

    settings = Settings()
    configure_logging(settings.server.LOG_LEVEL)
    if not settings.scaleout.enabled:
        typer.echo("DATABASE_URL is not set: the embedded mode has no workers and no database", err=True)
        raise typer.Exit(2)
    return settings


def worker() -> None:
    """Run jobs from the PostgreSQL queue (WORKER_CONCURRENCY at once) until SIGTERM / Ctrl-C."""
    asyncio.run(_worker(_settings()))


async def _worker(settings: Settings) -> None:
    from app.api.presenter import Presenter
    from app.main import clean_start
    from app.services.health import Health
    from app.services.pipeline.scaleout import ScaleOut
    from app.services.registry import build_providers

    providers = build_providers(settings)
    await clean_start(settings)
    scale = ScaleOut(settings, providers, Presenter(providers.publish, settings).result, Health())
    await scale.open()
    try:
        task = scale.start(worker=True, install_signal_handlers=True)
        assert task is not None
        await task  # returns once a stop signal's grace period is over
    finally:
        await scale.close()
        await providers.aclose()
    logger.info("worker stopped")


@db.command()
def upgrade() -> None:
    """Create or upgrade the schema: Procrastinate's, then the service's versioned migrations."""
    from app.services.pipeline.scaleout import upgrade as run_upgrade

    done = asyncio.run(run_upgrade(_settings()))
    typer.echo("applied: " + ", ".join(done) if done else "the schema is up to date")


@db.command("import-json")
def import_json(
    data_dir: Annotated[Path | None, typer.Option(help="The embedded mode's DATA_DIR; default = DATA_DIR")] = None,
) -> None:
    """Move an embedded DATA_DIR's stories, operations and pending callbacks into PostgreSQL (idempotent).

    Unfinished operations are queued for the workers. Published media stay where they are: point the
    workers' object store at them (PUBLISH_PROVIDER=local with MEDIA_DIR, or the same OSS bucket)."""
    settings = _settings()
    counts = asyncio.run(_import(settings, data_dir or settings.state.DATA_DIR))
    typer.echo(", ".join(f"{n} {what}" for what, n in counts.items()))


async def _import(settings: Settings, data_dir: Path) -> dict[str, int]:
    from app.api.presenter import Presenter
    from app.models.events import CallbackEvent
    from app.models.story import Story
    from app.services.callbacks.outbox import PendingDelivery
    from app.services.health import Health
    from app.services.pipeline.queue import defer_operation
    from app.services.pipeline.scaleout import ScaleOut
    from app.services.registry import build_providers
    from app.state.atomic import read_json
    from app.state.pg import Connection
    from app.state.store import JsonStateStore

    providers = build_providers(settings)
    scale = ScaleOut(settings, providers, Presenter(providers.publish, settings).result, Health())
    await scale.open()
    source = JsonStateStore(data_dir)
    counts = {"stories": 0, "operations": 0, "queued": 0, "callbacks": 0}
    try:
        for path in sorted((data_dir / "stories").glob("*/story.json")):
            raw = read_json(path)
            if raw is not None and await scale.store.import_story(Story.model_validate(raw)):
                counts["stories"] += 1
        for op in sorted(await source.list_operations(), key=lambda o: o.created_at):
            pending = not op.status.terminal

            async def defer(conn: Connection, op_id: str = op.operation_id, story_id: str = op.story_id,
                            queue_it: bool = pending) -> None:
                if queue_it:
                    await defer_operation(scale.queue, conn, op_id, story_id)

            if await scale.store.admit(op, None, defer) is None:
                counts["operations"] += 1
                counts["queued"] += pending
        for path in sorted((data_dir / "outbox").glob("*/*.json")):
            raw = read_json(path)
            if raw is None:
                continue
            delivery = PendingDelivery.model_validate(raw)
            event: CallbackEvent = delivery.event
            async with scale.pool.connection() as conn:
                cur = await conn.execute(
                    "INSERT INTO s2v_outbox (operation_id, event_id, event, url, body) VALUES (%s, %s, %s, %s, %s) "
                    "ON CONFLICT (operation_id, event_id) DO NOTHING",
                    (event.operation_id, event.event_id, event.event, delivery.url, delivery.payload().decode()))
                counts["callbacks"] += cur.rowcount
    finally:
        source.close()
        await scale.close()
        await providers.aclose()
    return counts
