"""Scale-out: state, queue and callbacks in PostgreSQL, jobs run by worker processes (docs/scale-out.md)."""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings

from app.core.settings.base import section_config


class ScaleOutSettings(BaseSettings):
    """Without DATABASE_URL everything runs in this process on JSON files (the embedded mode). With it,
    stories, operations and the callback outbox live in PostgreSQL and jobs go to a Procrastinate queue
    that `python -m app.cli worker` processes (or this process, with WORKER_IN_API)."""

    model_config = section_config()

    DATABASE_URL: SecretStr | None = Field(
        None, description="postgresql://user:pass@host:5432/db; set = scale-out mode (PostgreSQL + workers)")
    DB_POOL_SIZE: int = Field(10, ge=1, description="Connections each process keeps to PostgreSQL")
    WORKER_CONCURRENCY: int = Field(2, ge=1, description="Operations one worker process runs at once")
    WORKER_IN_API: bool = Field(False, description="Also run a worker inside the API process (small installs)")
    WORKER_NAME: str = Field("", description="Name shown for this worker in logs and /readyz; empty = host-pid")
    STALLED_AFTER_S: float = Field(30.0, gt=0, description="A worker silent this long is dead: its jobs are "
                                   "retried on another worker")
    HEARTBEAT_S: float = Field(5.0, gt=0, description="How often a worker says it is alive")
    SHUTDOWN_GRACE_S: float = Field(30.0, ge=0, description="On SIGTERM a worker finishes its jobs for this long, "
                                    "then hands them back to the queue")
    QUEUE_NAME: str = Field("operations", description="Procrastinate queue the operations go to")

    @property
    def enabled(self) -> bool:
        return self.DATABASE_URL is not None

    def dsn(self) -> str:
        return self.DATABASE_URL.get_secret_value() if self.DATABASE_URL else ""
