"""Runs operations: at most MAX_RUNNING_OPERATIONS at once, one at a time per story, fairly across stories.

An operation's lifecycle: queued → running → succeeded | failed | cancelled. Accepted operations wait
in a bounded fair queue (acceptance order within a story, round-robin between stories); a full queue
refuses new work with 429. A crash or shutdown leaves an operation `running`; `resume_pending` at
start-up queues it again, and each step skips what is already done. Any failure of a job — a state
write included — ends it `failed` with a code; the terminal write and its callback are retried until
they land and are shielded from cancellation.
"""

from __future__ import annotations

import asyncio
import functools
from typing import Protocol

from loguru import logger

from app.core import metrics
from app.core.errors import TooManyRequests, storage_error
from app.models.operation import Operation
from app.models.story import Story
from app.services.health import Health, supervise
from app.services.pipeline.context import PipelineContext
from app.services.pipeline.execution import COMPONENT, STEPS, Executor, ResultView, Step
from app.services.pipeline.fairqueue import Entry, FairQueue
from app.services.pipeline.waiting import OperationWaiter

__all__ = ["COMPONENT", "STEPS", "JobRunner", "ResultView", "Runner", "Step"]


class Runner(Protocol):
    """What admission, the API and the app ask of whatever runs operations: the in-process `JobRunner`
    (embedded mode) or the `QueueRunner` (`pipeline/queue.py`: a Procrastinate queue in PostgreSQL)."""

    waiter: OperationWaiter

    def check_capacity(self) -> None: ...
    async def accept(self, op: Operation, new_story: Story | None) -> Operation | None: ...
    def queue_position(self, operation_id: str) -> int | None: ...
    def load(self) -> dict[str, int]: ...
    def start(self) -> None: ...
    async def resume_pending(self) -> int: ...
    async def cancel(self, operation_id: str, *, wait_s: float = 15.0) -> bool: ...
    async def shutdown(self) -> None: ...


class JobRunner:
    def __init__(self, ctx: PipelineContext, result_view: ResultView, *, health: Health | None = None):
        self.ctx = ctx
        self.result_view = result_view
        self.health = health or Health()
        self.executor = Executor(ctx, result_view, self.health)
        self.max_running = ctx.settings.work.MAX_RUNNING_OPERATIONS
        self.max_queued = ctx.settings.work.MAX_QUEUED_OPERATIONS
        self._queue = FairQueue()
        self._queued_ids: set[str] = set()
        self._running: dict[str, asyncio.Task[None]] = {}
        self._cancel_requested: set[str] = set()
        #: cancels recorded for tasks stopped before their first step
        self._records: set[asyncio.Task[None]] = set()
        self._stopping = False
        self._wake = asyncio.Event()
        self._dispatcher: asyncio.Task[None] | None = None
        #: requests waiting for an operation to end; woken when one of ours does
        self.waiter = OperationWaiter(ctx.store, is_local=self.is_active)

    def is_active(self, operation_id: str) -> bool:
        """Whether this process runs (or has queued) the operation, so it will signal its end."""
        return operation_id in self._queued_ids or operation_id in self._running

    # --- admission side ----------------------------------------------------------------------
    def check_capacity(self) -> None:
        """Refuse new work (429) when the queue is full; admission asks before it writes anything."""
        if len(self._queue) >= self.max_queued:
            retry_after = max(1, min(60, len(self._queue) // max(self.max_running, 1)))
            raise TooManyRequests("queue_full", f"{len(self._queue)} operations are waiting; try again later",
                                  retry_after_s=retry_after)

    async def accept(self, op: Operation, new_story: Story | None) -> Operation | None:
        """Persist an accepted operation (and the story it creates), then queue it; a failed write leaves
        nothing behind. Always None here: admission already found no operation with this id under the
        story's lock."""
        try:
            if new_story is not None:
                await self.ctx.store.put_story(new_story)
            try:
                await self.ctx.store.put_operation(op)
            except OSError:
                if new_story is not None:
                    await self.ctx.store.delete_story(new_story.story_id)
                raise
        except OSError as exc:
            raise storage_error(exc) or exc from exc
        self.submit(op)  # inside the story's lock: the queue keeps the acceptance order
        return None

    def submit(self, op: Operation) -> None:
        """Queue an accepted operation (idempotent)."""
        if op.operation_id in self._queued_ids or op.operation_id in self._running:
            return
        self._queue.push(Entry(op.operation_id, op.story_id))
        self._queued_ids.add(op.operation_id)
        metrics.operation_queued(op.operation_id, op.type)
        self._wake.set()

    def queue_position(self, operation_id: str) -> int | None:
        return self._queue.position(operation_id) if operation_id in self._queued_ids else None

    def load(self) -> dict[str, int]:
        return {"running": len(self._running), "waiting": len(self._queue), "max_running": self.max_running,
                "max_waiting": self.max_queued}

    # --- lifecycle ---------------------------------------------------------------------------
    def start(self) -> None:
        self._dispatcher = asyncio.create_task(supervise(COMPONENT, self._dispatch, self.health), name="dispatcher")

    async def resume_pending(self) -> int:
        """Queue every operation a previous process left queued or running, oldest first."""
        pending = [op for op in await self.ctx.store.list_operations() if not op.status.terminal]
        for op in sorted(pending, key=lambda o: o.created_at):
            logger.info("resuming {} ({}, {})", op.operation_id, op.type, op.status)
            self.submit(op)
        return len(pending)

    async def cancel(self, operation_id: str, *, wait_s: float = 15.0) -> bool:
        """Stop a queued or running operation (FFmpeg and other children are killed); False if neither."""
        if self._queue.remove(operation_id):
            self._queued_ids.discard(operation_id)
            await asyncio.shield(self.executor.record_cancelled(operation_id))
            self.waiter.finished(operation_id)
            metrics.operation_left(operation_id)
            return True
        task = self._running.get(operation_id)
        if task is None:
            return False
        self._cancel_requested.add(operation_id)
        task.cancel()
        await asyncio.wait({task}, timeout=wait_s)
        records = {r for r in self._records if r.get_name() == operation_id}
        if records:
            await asyncio.wait(records, timeout=wait_s)
        return True

    async def shutdown(self) -> None:
        self._stopping = True
        if self._dispatcher is not None:
            self._dispatcher.cancel()
        tasks = [*self._running.values(), *([self._dispatcher] if self._dispatcher else [])]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, *self._records, return_exceptions=True)

    async def _dispatch(self) -> None:
        while True:
            while len(self._running) < self.max_running and (entry := self._queue.next_ready()) is not None:
                self._queued_ids.discard(entry.operation_id)
                task = asyncio.create_task(self._run(entry), name=entry.operation_id)
                task.add_done_callback(functools.partial(self._ended, entry))
                self._running[entry.operation_id] = task
            self._wake.clear()
            await self._wake.wait()

    # --- one operation -----------------------------------------------------------------------
    async def _run(self, entry: Entry) -> None:
        operation_id = entry.operation_id
        with logger.contextualize(operation_id=operation_id, story_id=entry.story_id):
            try:
                await self.executor.execute(operation_id)
            except asyncio.CancelledError:
                if operation_id in self._cancel_requested:
                    await asyncio.shield(self.executor.record_cancelled(operation_id))
                # else: shutdown — left as it is, resumed at the next start
            except Exception as exc:  # a failure outside any step: a state write, a lost story
                logger.opt(exception=exc).error("operation crashed")
                await asyncio.shield(self.executor.fail(operation_id, exc))

    def _ended(self, entry: Entry, task: asyncio.Task[None]) -> None:
        """The bookkeeping of an ended operation task; a done callback, so it also runs for a task
        cancelled before its first step (then a requested cancel is recorded here)."""
        operation_id = entry.operation_id
        if task.cancelled() and operation_id in self._cancel_requested and not self._stopping:
            record = asyncio.create_task(self.executor.record_cancelled(operation_id), name=operation_id)
            self._records.add(record)
            record.add_done_callback(self._records.discard)
        self._cancel_requested.discard(operation_id)
        self._running.pop(operation_id, None)
        self._queue.done(entry.story_id)
        self._wake.set()
        self.waiter.finished(operation_id)
        metrics.operation_left(operation_id)
