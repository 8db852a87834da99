"""`GET /api/v1/operations/{id}/events`: a real SSE client reads a render's events in order to the final one,
resumes with Last-Event-ID after a disconnect without losing or repeating one, and each event is byte for
byte the body its callback carried."""

from __future__ import annotations

import threading
from pathlib import Path

import httpx
from httpx_sse import connect_sse

from app.models.events import CallbackEvent
from app.state.events import EventLog, events_after
from tests.receiver import CallbackReceiver
from tests.server import wait_for
from tests.test_callbacks import wait_events

CREATE = {"operation_id": "op-sse-c", "story_id": "story-sse", "user_id": "u-1", "display_name": "Fox",
          "script_content": "A fox looks for the moon. It climbs a hill. It meets an owl. They watch the sky.",
          "style": "paper cut"}
RENDER = {"operation_id": "op-sse-r", "story_id": "story-sse", "user_id": "u-1"}
ENV = {"VIDEO_WIDTH": "320", "VIDEO_HEIGHT": "180", "VIDEO_FPS": "12", "SHOT_MIN_S": "1.0",
       "CLIP_PROVIDER": "tests.fakes:slow_clips", "SLOW_CLIP_S": "0.3", "MAX_PARALLEL_SHOTS": "1"}
EVENTS = "/api/v1/operations/op-sse-r/events"


def read(client: httpx.Client, *, last_event_id: str | None = None, stop_after: int | None = None,
         params: dict | None = None) -> list:
    """SSE messages in the order received; with `stop_after`, the connection is dropped after that many."""
    headers = {"Last-Event-ID": last_event_id} if last_event_id else {}
    received = []
    with connect_sse(client, "GET", EVENTS, headers=headers, params=params or {}) as source:
        assert source.response.status_code == 200
        for sse in source.iter_sse():
            received.append(sse)
            if stop_after is not None and len(received) >= stop_after:
                break  # leaving the block closes the connection mid-stream
    return received


def test_a_render_stream_is_read_in_order_and_resumed_after_a_disconnect(start_service):
    with CallbackReceiver() as receiver:
        service = start_service({**ENV, "CALLBACK_URL": receiver.url})
        with service.client() as client, httpx.Client(base_url=service.base_url, timeout=60) as stream_client:
            client.post("/api/v1/storyboard/create", json=CREATE)
            assert wait_for(client, "op-sse-c")["status"] == "succeeded"
            assert client.post("/api/v1/video/render", json=RENDER).status_code == 202

            first = read(stream_client, stop_after=2)  # connected while the render runs, then cut off
            assert client.get("/api/v1/operations/op-sse-r").json()["status"] == "running"
            rest = read(stream_client, last_event_id=first[-1].id)  # resumes, live, to the final event
            assert wait_for(client, "op-sse-r")["status"] == "succeeded"
            whole = read(stream_client)
            after_final = stream_client.get(EVENTS, headers={"Last-Event-ID": whole[-1].id})
            progress = read(stream_client, params={"progress": "true", "last_event_id": whole[-2].id})
            wait_events(receiver, "op-sse-r", "operation.succeeded")
            callbacks = {r["event"]["event_id"]: r["body"] for r in receiver.accepted}

    resumed = first + rest
    names = [(sse.event, sse.json()["stage"]) for sse in resumed]
    assert names == [("operation.stage_completed", "narration"), ("operation.stage_completed", "clip"),
                     ("operation.stage_completed", "compose"), ("operation.stage_completed", "publish"),
                     ("operation.succeeded", "done")]
    assert [sse.id for sse in resumed] == [sse.id for sse in whole]  # nothing lost, nothing repeated
    assert len({sse.id for sse in whole}) == len(whole)
    for sse in whole:
        assert sse.id == sse.json()["event_id"]
        assert sse.json()["operation_id"] == "op-sse-r"
        assert sse.data.encode() == callbacks[sse.id]  # the callback's body, byte for byte
    final = whole[-1].json()
    assert final["status"] == "succeeded" and final["result"]["video_url"]
    assert set(final["result"]["stage_seconds"]) >= {"narration", "clip", "compose", "publish"}
    assert after_final.status_code == 204  # EventSource stops reconnecting
    assert [sse.event for sse in progress][-1] == "operation.succeeded"
    assert progress[-1].id == whole[-1].id


def test_a_stream_opened_before_the_operation_runs_follows_it_live(start_service):
    service = start_service(ENV)
    with service.client() as client:
        assert client.post("/api/v1/storyboard/create", json=CREATE).status_code == 202
        received: list = []

        def listen() -> None:
            with httpx.Client(base_url=service.base_url, timeout=60) as stream_client, connect_sse(
                    stream_client, "GET", "/api/v1/operations/op-sse-c/events", params={"progress": "true"}) as source:
                received.extend(source.iter_sse())

        listener = threading.Thread(target=listen)
        listener.start()
        listener.join(120)
        assert not listener.is_alive(), "the stream did not end with the operation"
        assert wait_for(client, "op-sse-c")["status"] == "succeeded"
        missing = client.get("/api/v1/operations/nope/events")
    events = [sse for sse in received if sse.event != "progress"]
    assert [sse.json()["stage"] for sse in events] == ["storyboard", "keyframe", "done"]
    snapshots = [sse.json()["progress"]["percent"] for sse in received if sse.event == "progress"]
    assert snapshots == sorted(snapshots) and len(snapshots) >= 2
    assert missing.status_code == 404 and missing.json()["code"] == "operation_not_found"


def _event(operation_id: str, name: str, stage: str, event_id: str) -> CallbackEvent:
    return CallbackEvent(event_id=event_id, event=name, operation_id=operation_id, type="story_create",
                         story_id="s", user_id="u", stage=stage, status="running", progress={"percent": 1.0})


async def test_the_event_log_keeps_order_writes_an_id_once_and_survives_a_torn_line(tmp_path: Path):
    log = EventLog(tmp_path)
    first = _event("op", "operation.stage_completed", "storyboard", "e1")
    assert await log.append(first) == first
    again = _event("op", "operation.stage_completed", "storyboard", "e1")  # re-emitted after a crash: a new time
    assert again.created_at != first.created_at
    assert (await log.append(again)).model_dump_json() == first.model_dump_json()
    with log.path("op").open("a") as handle:
        handle.write('{"event_id": "torn", "ev')  # a crash in the middle of a write
    changed = log.changed("op")
    await log.append(_event("op", "operation.succeeded", "done", "e2"))
    assert changed.is_set()
    events = await log.read("op")
    assert [e.event_id for e in events] == ["e1", "e2"]
    assert events[-1].final and not events[0].final
    assert [e.event_id for e in events_after(events, "e1")] == ["e2"]
    assert [e.event_id for e in events_after(events, "unknown")] == ["e1", "e2"]
    assert await log.read("other") == []
