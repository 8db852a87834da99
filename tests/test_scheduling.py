"""The slots every story shares (fair between owners), the host pool's cool-down, poll pacing, and progress."""

from __future__ import annotations

import asyncio

import pytest

from app.core.errors import TransientBackendError
from app.models.operation import Progress, ShotProgress
from app.services.polling import Pacer
from app.services.scheduling import FairSlots, HostPool, work_scope

LEASE = {"wait_s": 5, "backend": "test", "label": "Test"}


async def run_jobs(slots: FairSlots, jobs: dict[str, int], order: list[str], *, hold_s: float = 0.01) -> None:
    """Owners queue their jobs at once (the first owner's all first); `order` records who got each slot."""

    async def job(owner: str) -> None:
        with work_scope(owner):
            async with slots.slot():
                order.append(owner)
                await asyncio.sleep(hold_s)

    await asyncio.gather(*(job(owner) for owner, count in jobs.items() for _ in range(count)))


async def test_fair_slots_go_round_robin_between_owners_not_first_come_all_taken() -> None:
    order: list[str] = []
    await run_jobs(FairSlots(2), {"story-a": 6, "story-b": 6}, order)
    # a took both free slots before b asked; from then on each freed slot goes to the story holding fewer,
    # so each holds one and they alternate
    assert order == ["story-a", "story-a"] + ["story-b", "story-a"] * 4 + ["story-b", "story-b"]


async def test_fair_slots_without_a_limit_never_wait_and_with_one_never_exceed_it() -> None:
    slots, most = FairSlots(3), 0

    async def job() -> None:
        nonlocal most
        async with slots.slot():
            most = max(most, slots.in_use)
            await asyncio.sleep(0.01)

    await asyncio.gather(*(job() for _ in range(10)))
    assert most == 3 and slots.in_use == 0
    unlimited = FairSlots(0)
    async with unlimited.slot(), unlimited.slot(), unlimited.slot():
        assert unlimited.in_use == 3


async def test_a_waiter_cancelled_after_being_served_gives_its_slot_back() -> None:
    slots = FairSlots(1)
    reports: list[str] = []
    async with slots.slot():
        with work_scope("s", lambda state, step, total: reports.append(state)):
            waiting = asyncio.create_task(slots.slot().__aenter__())
            await asyncio.sleep(0)
        waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    assert reports == ["waiting"] and slots.in_use == 0
    async with asyncio.timeout(1), slots.slot():
        assert slots.in_use == 1


async def test_slots_report_waiting_then_rendering_only_to_the_work_that_had_to_wait() -> None:
    slots, seen = FairSlots(1), {"first": [], "second": []}

    async def job(name: str) -> None:
        with work_scope("s", lambda state, step, total: seen[name].append(state)):
            async with slots.slot():
                await asyncio.sleep(0.02)

    await asyncio.gather(job("first"), job("second"))
    assert seen == {"first": [], "second": ["waiting", "rendering"]}


async def test_a_failed_host_is_skipped_while_another_can_work_and_used_when_it_is_the_only_one() -> None:
    pool, hosts = HostPool(), ["http://a", "http://b"]
    async with pool.lease(hosts, **LEASE) as lease:
        assert lease.host == "http://a"
        lease.fail(30)
    assert pool.cooling("http://a")
    async with pool.lease(hosts, **LEASE) as first:
        assert first.host == "http://b"
        with pytest.raises(TransientBackendError, match="no Test host became free within 0.05 s"):
            async with pool.lease(hosts, **{**LEASE, "wait_s": 0.05}):
                pass  # b is busy and a is cooling down: wait for b
    async with pool.lease(["http://a"], **LEASE) as only:
        assert only.host == "http://a"  # a one-host pool keeps trying its host


async def test_a_cool_down_ends_and_the_host_serves_again() -> None:
    pool = HostPool()
    async with pool.lease(["http://a", "http://b"], **LEASE) as lease:
        lease.fail(0.1)
    async with pool.lease(["http://a", "http://b"], **LEASE) as busy_b:
        assert busy_b.host == "http://b"
        async with asyncio.timeout(2), pool.lease(["http://a", "http://b"], **LEASE) as again:
            assert again.host == "http://a" and not pool.cooling("http://a")


async def test_a_lease_given_back_early_frees_the_host_for_the_next_job() -> None:
    pool, order = HostPool(), []

    async def job(name: str) -> None:
        async with pool.lease(["http://a"], **LEASE) as lease:
            order.append(f"{name} runs")
            await asyncio.sleep(0.02)
            lease.release()  # the GPU work is done; the download needs no host
            await asyncio.sleep(0.1)
            order.append(f"{name} downloaded")

    await asyncio.gather(job("first"), job("second"))
    assert order == ["first runs", "second runs", "first downloaded", "second downloaded"]
    assert pool.busy == frozenset()


async def test_hosts_go_round_robin_between_stories() -> None:
    pool, order = HostPool(), []

    async def job(owner: str) -> None:
        with work_scope(owner):
            async with pool.lease(["http://a", "http://b"], **LEASE):
                order.append(owner)
                await asyncio.sleep(0.01)

    await asyncio.gather(*(job(o) for o in ["a"] * 4 + ["b"] * 4))
    assert order == ["a", "a", "b", "a", "b", "a", "b", "b"]


def test_pacer_waits_for_the_estimated_end_then_rereads_soon() -> None:
    now = [0.0]
    pacer = Pacer(2.0, clock=lambda: now[0])
    assert pacer.next_s() == 0.05  # no progress yet: a short wait, doubling
    now[0] = 0.05
    assert pacer.next_s(0, 50) == 0.1
    now[0] = 0.15
    assert pacer.next_s(1, 50) == 2.0  # 49 steps at 10/s: far off, so the whole interval
    now[0] = 2.15
    assert pacer.next_s(26, 50) == pytest.approx(24 * 2.1 / 26)  # the estimated end
    now[0] = 4.1
    assert [pacer.next_s(50, 50) for _ in range(7)] == [0.05, 0.1, 0.2, 0.4, 0.8, 1.6, 2.0]


def test_percent_counts_the_share_of_clips_being_rendered() -> None:
    progress = Progress(done=2, total=10, shot_progress={
        "shot_01": ShotProgress(stage="clip", state="rendering", step=25, total=50),
        "shot_02": ShotProgress(stage="clip", state="waiting"),
        "shot_03": ShotProgress(stage="clip", state="done", step=50, total=50)})
    assert progress.percent == 25.0
    assert Progress(done=10, total=10, shot_progress=progress.shot_progress).percent == 100.0
