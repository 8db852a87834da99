"""Bounded work: a fair queue across stories, a global running limit, a bounded queue answering 429."""

from __future__ import annotations

import asyncio
import random
from pathlib import Path

import pytest

from app.core.errors import TooManyRequests
from app.models.requests import CreateStoryboardRequest
from app.services.pipeline.fairqueue import Entry, FairQueue
from tests.inproc import service


def test_fair_queue_keeps_story_order_and_takes_turns_between_stories() -> None:
    queue = FairQueue()
    for op, story in [("a1", "A"), ("a2", "A"), ("a3", "A"), ("b1", "B"), ("c1", "C"), ("b2", "B")]:
        queue.push(Entry(op, story))
    assert [queue.position(op) for op in ("a1", "b1", "c1", "a2", "b2", "a3")] == [1, 2, 3, 4, 5, 6]
    first = queue.next_ready()
    assert first == Entry("a1", "A")
    assert queue.next_ready() == Entry("b1", "B")  # A is busy: its next one waits for a1
    assert queue.next_ready() == Entry("c1", "C")
    assert queue.next_ready() is None  # every story with work is busy
    queue.done("A")
    assert queue.next_ready() == Entry("a2", "A")
    queue.done("B")
    assert queue.next_ready() == Entry("b2", "B")
    assert queue.remove("a3") and not queue.remove("a3") and len(queue) == 0


def test_queue_positions_match_taking_the_ring_in_turn() -> None:
    """Positions are computed, not listed: they must match the order a ring taken in turn gives."""
    rng = random.Random(3)
    queue, ring = FairQueue(), {}  # ring: the test's own copy of story → waiting ids, in ring order
    for n in range(400):
        story = f"s{rng.randrange(25)}"
        if rng.random() < 0.7 or not queue:
            queue.push(Entry(f"op{n}", story))
            ring.setdefault(story, []).append(f"op{n}")
        elif rng.random() < 0.5:
            victim = rng.choice([op for ops in ring.values() for op in ops])
            assert queue.remove(victim)
            for ops in ring.values():
                if victim in ops:
                    ops.remove(victim)
        else:
            taken = queue.next_ready()
            assert taken is not None and ring[taken.story_id][0] == taken.operation_id
            ring[taken.story_id] = ring.pop(taken.story_id)[1:]  # to the back of the ring
            queue.done(taken.story_id)
        ring = {story: ops for story, ops in ring.items() if ops}
        deepest = max(map(len, ring.values()), default=0)
        order = [ops[d] for d in range(deepest) for ops in ring.values() if d < len(ops)]
        assert [queue.position(op) for op in order] == list(range(1, len(order) + 1))
    assert queue.position("never") is None


def create(n: int, story: str) -> CreateStoryboardRequest:
    return CreateStoryboardRequest(operation_id=f"op-{story}-{n}", story_id=story, user_id="u", display_name="d",
                                   script_content="A fox looks for the moon. It climbs a hill.", style="")


async def test_a_full_queue_refuses_with_retry_after_and_writes_nothing(tmp_path: Path) -> None:
    async with service(tmp_path, MAX_RUNNING_OPERATIONS=1, MAX_QUEUED_OPERATIONS=2,
                       KEYFRAME_PROVIDER="tests.fakes:slow_keyframes") as svc:
        for n in range(3):  # one runs, two wait
            await svc.admission.admit(create(n, f"s{n}"))
        await asyncio.sleep(0.2)
        with pytest.raises(TooManyRequests) as caught:
            await svc.admission.admit(create(9, "s9"))
        assert caught.value.status_code == 429 and caught.value.retry_after_s >= 1
        assert await svc.store.get_operation("op-s9-9") is None and await svc.store.get_story("s9") is None
        assert svc.runner.load()["running"] == 1 and svc.runner.load()["waiting"] == 2
        assert svc.runner.queue_position("op-s2-2") == 2
        view = await svc.view("op-s1-1")
        assert view["status"] == "queued" and view["queue_position"] is None  # the route adds it, not the store


async def test_the_running_limit_holds_and_stories_take_turns(tmp_path: Path) -> None:
    async with service(tmp_path, MAX_RUNNING_OPERATIONS=2, KEYFRAME_PROVIDER="tests.fakes:slow_keyframes") as svc:
        for n in range(3):
            await svc.admission.admit(create(n, "busy"))
        await svc.admission.admit(create(0, "other"))
        peak = 0
        started: list[str] = []
        while True:
            ops = await svc.store.list_operations()
            running = [op.operation_id for op in ops if op.status == "running"]
            peak = max(peak, len(running))
            started += [r for r in running if r not in started]
            if all(op.status.terminal for op in ops):
                break
            await asyncio.sleep(0.05)
        assert peak <= 2
        assert started.index("op-other-0") < started.index("op-busy-1")  # not first-come-takes-all
        assert [s for s in started if s.startswith("op-busy")] == ["op-busy-0", "op-busy-1", "op-busy-2"]
        assert all(op.status == "succeeded" for op in ops)


async def test_an_operation_cancelled_before_its_task_first_runs_ends_cancelled(tmp_path: Path) -> None:
    """The dispatcher has made the operation's task, but the task has not taken a step when the cancel
    comes: the operation still ends `cancelled` and leaves the running set."""
    async with service(tmp_path, KEYFRAME_PROVIDER="tests.fakes:slow_keyframes") as svc:
        op, _ = await svc.admission.admit(create(0, "s0"))
        while op.operation_id not in svc.runner._running:  # the first moment the task exists
            await asyncio.sleep(0)
        assert await svc.runner.cancel(op.operation_id, wait_s=5)
        stored = await svc.store.get_operation(op.operation_id)
        assert stored is not None and stored.status == "cancelled"
        assert svc.runner.load()["running"] == 0
