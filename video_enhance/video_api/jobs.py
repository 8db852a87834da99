"""Jobs and the queue: ONE worker runs one job at a time (one GPU), at most ``max_waiting`` wait (429 beyond).

Jobs live in memory (a restart forgets them; callers resubmit) and their files under ``work_dir/<job_id>/``;
finished jobs are dropped after ``ttl_s`` or when more than ``keep`` have piled up. ``JobQueue.view`` is the shared
job view (``contract.job_view``).
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from .contract import job_view
from .errors import EnhanceError
from .media import kill_active
from .pipeline import EnhanceResult, EnhanceSpec

logger = logging.getLogger(__name__)


class JobStatus(StrEnum):
    QUEUED = "queued"  #: accepted, waiting for the worker
    RUNNING = "running"  #: on the GPU now
    SUCCEEDED = "succeeded"  #: the result can be downloaded
    FAILED = "failed"  #: see ``error``


@dataclass
class Job:
    """One enhancement request and its state."""

    id: str
    spec: EnhanceSpec
    dir: Path
    status: JobStatus = JobStatus.QUEUED
    stage: str = "queued"
    seq: int = 0  #: submission order (FIFO)
    progress: dict[str, int] | None = None  #: {step, total}: pipeline steps done, of all (the encode included)
    created_at: float = field(default_factory=time.time)
    started_at: float | None = None
    finished_at: float | None = None
    error: dict | None = None
    result: EnhanceResult | None = None
    done: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def input(self) -> Path:
        return self.dir / "input.mp4"

    @property
    def output(self) -> Path:
        return self.dir / "output.mp4"

    def public(self, queue_position: int | None) -> dict[str, Any]:
        """The shared job view; ``stage``, ``scale`` and ``multi`` are this service's extras."""
        result = None if self.result is None else {"url": f"/v1/jobs/{self.id}/result", **asdict(self.result)}
        return job_view(self.id, self.status.value, queue_position=queue_position, progress=self.progress,
                        error=self.error, created_at=self.created_at, started_at=self.started_at,
                        finished_at=self.finished_at, result=result, stage=self.stage, scale=self.spec.scale,
                        multi=self.spec.multi)


def new_job(spec: EnhanceSpec, work_dir: Path) -> Job:
    job_id = uuid.uuid4().hex
    job = Job(job_id, spec, work_dir / job_id)
    job.dir.mkdir(parents=True, exist_ok=True)
    return job


class QueueFull(Exception):
    pass


Runner = Callable[[Job], EnhanceResult]


class JobQueue:
    """A bounded FIFO with a single worker task; ``runner`` runs in a thread."""

    def __init__(self, runner: Runner, *, max_waiting: int, keep: int, ttl_s: float, timeout_s: float):
        self.runner, self.max_waiting, self.keep = runner, max_waiting, keep
        self.ttl_s, self.timeout_s = ttl_s, timeout_s
        self.jobs: dict[str, Job] = {}
        self.waiting: asyncio.Queue[Job] = asyncio.Queue()
        self.running: Job | None = None
        self.task: asyncio.Task | None = None
        self.submitted = 0

    def start(self) -> None:
        self.task = asyncio.create_task(self._work(), name="enhance-worker")

    async def stop(self) -> None:
        if self.task:
            self.task.cancel()
            await asyncio.gather(self.task, return_exceptions=True)

    def has_room(self) -> bool:
        """Whether one more job may be accepted (checked before an upload is read, and again at submit)."""
        idle = self.running is None and self.waiting.empty()
        return idle or self.waiting.qsize() < self.max_waiting

    def submit(self, job: Job) -> Job:
        if not self.has_room():
            raise QueueFull
        self.prune()
        self.submitted += 1
        job.seq = self.submitted
        self.jobs[job.id] = job
        self.waiting.put_nowait(job)
        return job

    def get(self, job_id: str) -> Job | None:
        """A job that has not expired."""
        self.prune()
        return self.jobs.get(job_id)

    def view(self, job: Job) -> dict[str, Any]:
        """The job with its place in the queue (1 = next to run)."""
        position = None
        if job.status is JobStatus.QUEUED:
            position = 1 + sum(1 for j in self.jobs.values() if j.status is JobStatus.QUEUED and j.seq < job.seq)
        return job.public(position)

    def forget(self, job: Job) -> None:
        """Drop a finished job and its files."""
        self.jobs.pop(job.id, None)
        shutil.rmtree(job.dir, ignore_errors=True)

    def prune(self) -> None:
        """Forget finished jobs older than the TTL, and the oldest beyond ``keep``."""
        finished = sorted((j for j in self.jobs.values() if j.done.is_set()), key=lambda j: j.finished_at or 0)
        now = time.time()
        for index, job in enumerate(finished):
            if now - (job.finished_at or now) > self.ttl_s or len(finished) - index > self.keep:
                self.forget(job)

    async def _work(self) -> None:
        while True:
            job = await self.waiting.get()
            self.running = job
            try:
                await self._run(job)
            finally:
                self.running = None
                job.finished_at = time.time()
                job.done.set()

    async def _run(self, job: Job) -> None:
        job.status, job.stage, job.started_at = JobStatus.RUNNING, "running", time.time()
        work = asyncio.ensure_future(asyncio.to_thread(self.runner, job))
        try:
            try:
                job.result = await asyncio.wait_for(asyncio.shield(work), self.timeout_s)
            except TimeoutError:
                kill_active()  # its FFmpeg processes die, so the thread ends soon;
                await asyncio.gather(work, return_exceptions=True)  # never two jobs on the GPU at once
                raise
            job.status, job.stage = JobStatus.SUCCEEDED, "done"
        except Exception as exc:  # every job ends in a terminal state
            job.status, job.error = JobStatus.FAILED, failure(exc, job.id)
        logger.info("job %s %s in %.1f s", job.id, job.status.value, time.time() - job.started_at)


def failure(exc: Exception, job_id: str) -> dict:
    """``{code, message}`` safe for clients; details go to the log only."""
    if isinstance(exc, EnhanceError):
        logger.warning("job %s failed: %s %s", job_id, exc.code, getattr(exc, "stderr_tail", ""))
        return {"code": exc.code, "message": exc.message}
    if isinstance(exc, TimeoutError):
        return {"code": "job_timeout", "message": "the job took too long"}
    logger.error("job %s failed", job_id, exc_info=exc)
    return {"code": "internal_error", "message": "the job failed; see the service log"}
