"""Fast in-process tests of the middle layers: the reporter's stage events, the outbox's delivery and
presentation of a finished render — no HTTP server between the test and the code."""

from __future__ import annotations

import asyncio
from pathlib import Path

from app.core.settings import Settings
from app.models.events import CallbackEvent
from app.models.operation import Operation, OperationType
from app.models.requests import CreateStoryboardRequest, RenderVideoRequest
from app.services.callbacks.outbox import Outbox
from app.services.health import Health
from app.services.pipeline.reporter import OperationReporter
from tests.inproc import service
from tests.receiver import CallbackReceiver

IDS = {"story_id": "story-l", "user_id": "u-1"}


def event(n: int, name: str = "operation.stage_completed") -> CallbackEvent:
    return CallbackEvent(event_id=f"e{n}", event=name, operation_id="op-1", type="story_create", story_id="s",
                         user_id="u", stage=f"stage{n}", status="running", progress={})


async def test_the_outbox_sends_in_order_once_with_the_bytes_it_stored(tmp_path: Path) -> None:
    with CallbackReceiver(refuse_first=2) as receiver:
        settings = Settings(DATA_DIR=tmp_path, CALLBACK_RETRY_BASE_S=0.05, CALLBACK_RETRY_MAX_S=0.1)
        outbox = Outbox(settings, health=Health())
        for n in range(3):
            await outbox.enqueue(event(n), receiver.url)
        await outbox.enqueue(event(1), receiver.url)  # the same id again: a no-op
        runner = asyncio.create_task(outbox.run())
        for _ in range(100):
            if len(receiver.accepted) == 3:
                break
            await asyncio.sleep(0.05)
        await outbox.enqueue(event(2), receiver.url)  # delivered already: not sent again
        await asyncio.sleep(0.3)
        runner.cancel()
        await outbox.aclose()
    assert [r["event"]["event_id"] for r in receiver.accepted] == ["e0", "e1", "e2"]
    first_body = {r["body"] for r in receiver.attempts if r["event"]["event_id"] == "e0"}
    assert len(first_body) == 1  # the refused attempts and the accepted one carried the same bytes
    assert not (tmp_path / "outbox" / "op-1").exists()  # a drained operation's folder is gone


async def test_a_stage_already_done_emits_nothing_again(tmp_path: Path) -> None:
    async with service(tmp_path, CALLBACK_URL="http://127.0.0.1:9/hook") as svc:
        op = Operation(operation_id="op-x", type=OperationType.story_create, story_id="s", user_id="u",
                       request={}, request_digest="d")
        await svc.store.put_operation(op)
        reporter = OperationReporter(svc.runner.ctx, op)
        await reporter.stage_done("storyboard")
        await reporter.stage_done("storyboard")  # a step re-run after a restart
        pending = list((tmp_path / "outbox" / "op-x").glob("*.json"))
    assert len(pending) == 1


async def test_a_final_event_re_emitted_after_a_crash_carries_its_first_body(tmp_path: Path) -> None:
    """The final event was delivered, then the process died before the operation turned terminal: the
    re-run emits it again, and whatever reaches the backend under that event id is the same bytes."""
    with CallbackReceiver() as receiver:
        async with service(tmp_path, CALLBACK_URL=receiver.url) as svc:
            op = Operation(operation_id="op-f", type=OperationType.story_create, story_id="s", user_id="u",
                           request={}, request_digest="d")
            await svc.store.put_operation(op)
            outbox = svc.runner.ctx.outbox
            delivery = asyncio.create_task(outbox.run())
            await OperationReporter(svc.runner.ctx, op).emit("operation.succeeded", stage="done", status="succeeded")
            for _ in range(100):
                if receiver.accepted:
                    break
                await asyncio.sleep(0.05)
            await asyncio.sleep(0.01)  # a later moment: a rebuilt event would carry another created_at
            await OperationReporter(svc.runner.ctx, op).emit("operation.succeeded", stage="done", status="succeeded")
            await asyncio.sleep(0.5)
            delivery.cancel()
    bodies = {r["body"] for r in receiver.accepted}
    assert receiver.accepted and len(bodies) == 1

async def test_a_finished_render_is_presented_with_urls_and_no_stale_flags(tmp_path: Path) -> None:
    async with service(tmp_path) as svc:
        created = await svc.run(CreateStoryboardRequest(operation_id="op-c", display_name="d", style="",
                                                        script_content="A fox looks for the moon. It climbs.",
                                                        **IDS))
        assert created.status == "succeeded"
        rendered = await svc.run(RenderVideoRequest(operation_id="op-r", **IDS))
        view = await svc.view("op-r")
        story = svc.presenter.story(await svc.store.get_story("story-l"))  # type: ignore[arg-type]
    assert rendered.status == "succeeded" and view["progress"]["percent"] == 100.0
    assert view["result"]["video_url"].endswith("/video.mp4") and view["queue_position"] is None
    assert story["video_stale"] is False and not any(s["clip_stale"] for s in story["shots"])
