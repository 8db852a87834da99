"""In-process pieces of the synchronous mode: Prefer parsing, shot UUIDs, the waiter, the test client's decoder.

(The full flows are run over HTTP in tests/test_sync_mode.py.)"""

from __future__ import annotations

import asyncio
import threading
import time
import uuid

import pytest

from app.api.prefer import answer_mode, parse_prefer
from app.api.presenter import Presenter
from app.core.ids import shot_uuid, shown_shot_id
from app.core.settings import AnswerSettings, Settings
from app.models.operation import Operation, OperationError, OperationStatus, OperationType
from app.models.requests import RegenerateShotRequest
from app.models.story import Story
from app.services.pipeline.waiting import OperationWaiter
from app.services.publish.local import LocalObjectStore
from tests.upstream_backend import CREATE_ANSWER, REGENERATE_ANSWER, ModelServiceError, decode, go_uuid

# ----------------------------------------------------------------------------- Prefer (RFC 7240)


@pytest.mark.parametrize(
    ("headers", "sync_wait_s", "wait_s", "async_on_timeout", "applied"),
    [
        (None, 0, 0, False, None),
        (None, 280, 280, False, None),
        (["wait=10"], 0, 10, False, "wait=10"),
        (["Wait = 10 ; x=1"], 0, 10, False, "wait=10"),
        (["respond-async"], 280, 0, True, "respond-async"),
        (["respond-async, wait=7"], 0, 7, True, "respond-async, wait=7"),
        (["handling=lenient", "wait=3"], 0, 3, False, "wait=3"),
        (["wait=5", "wait=9"], 0, 5, False, "wait=5"),  # the first of a name wins
        (["wait=100000"], 0, 600, False, "wait=600"),  # capped at SYNC_WAIT_MAX_S
        (["wait=abc"], 30, 30, False, None),  # malformed: ignored
        (["wait=-1"], 30, 30, False, None),
        (["wait=0"], 30, 0, False, "wait=0"),  # answer at once
        (['foo="a, wait=99", wait=2'], 0, 2, False, "wait=2"),  # commas inside quotes do not split
    ],
)
def test_prefer_header_chooses_the_answer(headers, sync_wait_s, wait_s, async_on_timeout, applied) -> None:
    mode = answer_mode(headers, AnswerSettings(SYNC_WAIT_S=sync_wait_s, SYNC_WAIT_MAX_S=600))
    assert (mode.wait_s, mode.async_on_timeout) == (wait_s, async_on_timeout)
    assert mode.headers.get("Preference-Applied") == applied


def test_parse_prefer_keeps_values_and_drops_parameters() -> None:
    assert parse_prefer(['return=minimal; foo="bar", respond-async', 'wait="12"']) == {
        "return": "minimal", "respond-async": "", "wait": "12"}


# ----------------------------------------------------------------------------- shot ids


def test_shot_uuids_are_stable_and_either_id_names_the_shot() -> None:
    assert shot_uuid("story-1", 3) == shot_uuid("story-1", 3)
    assert len({shot_uuid("story-1", 3), shot_uuid("story-1", 4), shot_uuid("story-2", 3)}) == 3
    assert go_uuid(shot_uuid("story-1", 3)) is not None
    raw = {"story_id": "story-1", "user_id": "u", "display_name": "d", "script_content": "x", "style": "",
           "shots": [{"id": f"shot_{i:02d}", "sequence": i, "subject": "s", "detail": "d", "image_detail": "i",
                      "camera": "c", "narration": "n", "tone": "t"} for i in (1, 2)]}
    story = Story.model_validate(raw)  # stored before UUIDs existed: they are derived on load
    second = shot_uuid("story-1", 2)
    assert story.shots[1].uuid == second
    assert story.shot("shot_02") is story.shots[1]
    assert story.shot(second) is story.shots[1]
    assert story.shot(second.upper()) is story.shots[1]
    assert story.shot(second.replace("-", "")) is story.shots[1]
    assert story.shot(str(uuid.uuid4())) is None and story.shot("shot_09") is None
    assert story.shots[1].shown_id("uuid") == second and story.shots[1].shown_id("short") == "shot_02"
    assert shown_shot_id("story-1", "shot_02", "uuid") == second
    assert shown_shot_id("story-1", "shot_02", "short") == "shot_02"


def test_a_blank_edit_field_is_no_edit() -> None:
    request = RegenerateShotRequest(operation_id="o", story_id="s", user_id="u", shot_id="shot_01", detail="  ",
                                    style="", subject="new")
    assert (request.detail, request.style, request.subject) == (None, None, "new")


# ----------------------------------------------------------------------------- the waiter


class CountingStore:
    """Operations in a dict; every read counted; no threads."""

    def __init__(self) -> None:
        self.ops: dict[str, Operation] = {}
        self.reads = 0

    async def get_operation(self, operation_id: str) -> Operation | None:
        self.reads += 1
        op = self.ops.get(operation_id)
        return op.model_copy(deep=True) if op else None


def running(operation_id: str) -> Operation:
    return Operation(operation_id=operation_id, type=OperationType.video_render, story_id="s", user_id="u",
                     request={}, request_digest="d", status=OperationStatus.running)


async def test_a_hundred_waiters_cost_one_read_each_and_no_thread() -> None:
    store = CountingStore()
    waiter = OperationWaiter(store, is_local=lambda _: True, local_poll_s=30)  # type: ignore[arg-type]
    ids = [f"op-{i}" for i in range(100)]
    for op_id in ids:
        store.ops[op_id] = running(op_id)
    threads = set(threading.enumerate())
    tasks = [asyncio.create_task(waiter.wait(op_id, 60)) for op_id in ids]
    await asyncio.sleep(0.5)
    assert waiter.waiting == 100 and store.reads == 100  # one read each, then asleep: no polling
    # no worker thread serves a waiter (threads other tests left starting, e.g. jieba's warm-up, don't count)
    assert not [t.name for t in set(threading.enumerate()) - threads if t.name.startswith(("asyncio", "Thread"))]
    await asyncio.sleep(0.3)
    assert store.reads == 100 and not any(t.done() for t in tasks)  # still asleep, still no polling
    for op_id in ids:
        store.ops[op_id].status = OperationStatus.succeeded
        waiter.finished(op_id)
    done = await asyncio.wait_for(asyncio.gather(*tasks), 5)
    assert all(op is not None and op.status is OperationStatus.succeeded for op in done)
    assert store.reads == 200 and waiter.waiting == 0


async def test_an_operation_run_elsewhere_is_seen_by_a_slow_reread_and_a_timeout_returns_it_running() -> None:
    store = CountingStore()
    store.ops["remote"] = running("remote")
    store.ops["slow"] = running("slow")
    waiter = OperationWaiter(store, poll_s=0.2)  # type: ignore[arg-type]

    async def finish_elsewhere() -> None:
        await asyncio.sleep(0.5)
        store.ops["remote"].status = OperationStatus.failed  # another process: no signal here

    asyncio.create_task(finish_elsewhere())
    op = await waiter.wait("remote", 10)
    assert op is not None and op.status is OperationStatus.failed
    assert store.reads <= 6  # a re-read every ~0.2 s, not a tight loop
    started = time.monotonic()
    op = await waiter.wait("slow", 0.3)
    assert op is not None and op.status is OperationStatus.running and time.monotonic() - started < 1
    assert await waiter.wait("missing", 1) is None and waiter.waiting == 0


# ----------------------------------------------------------------------------- the test client's decoder


def test_the_decoder_refuses_what_the_go_backend_refuses() -> None:
    with pytest.raises(ModelServiceError):
        decode({"shots": [{"id": "a", "keyframe": 1, "detail": 2}]}, CREATE_ANSWER)
    with pytest.raises(ModelServiceError):
        decode({"operation": {"status": True}}, CREATE_ANSWER)
    with pytest.raises(ModelServiceError):
        decode({"shots": {"id": "a"}}, CREATE_ANSWER)
    with pytest.raises(ModelServiceError):
        decode({"shot": {"Detail": 1}}, REGENERATE_ANSWER)  # keys match case-insensitively
    ok = decode({"shots": [{"id": None, "sequence": 3, "extra": [1], "keyframe_version": 2}]}, CREATE_ANSWER)
    assert ok["shots"][0]["id"] == "" and ok["shots"][0]["sequence"] == 3



# ----------------------------------------------------------------------------- settings


def test_the_settings_say_what_would_break_the_upstream_backend() -> None:
    assert Settings(SYNC_WAIT_S=0).sync_mode_warnings() == []
    assert Settings(SYNC_WAIT_S=280, SHOT_ID_FORMAT="uuid", PUBLIC_BASE_URL="http://10.0.0.5:12345",
                    PUBLISH_PROVIDER="local").sync_mode_warnings() == []
    warned = " ".join(Settings(SYNC_WAIT_S=300, PUBLISH_PROVIDER="oss").sync_mode_warnings())
    assert "300 s" in warned and "OSS_PUBLIC_BASE_URL" in warned and "SHOT_ID_FORMAT=uuid" in warned


# ----------------------------------------------------------------------------- outcomes


@pytest.mark.parametrize(
    ("status", "error", "http", "code"),
    [
        (OperationStatus.failed, OperationError(code="clip_failed", message="clip_failed for shot_02: http_503",
                                                stage="clip", shot_id="shot_02"), 502, "clip_failed"),
        (OperationStatus.cancelled, OperationError(code="cancelled", message="the operation was cancelled"),
         409, "operation_cancelled"),
        (OperationStatus.running, None, 504, "operation_timeout"),
        (OperationStatus.queued, None, 504, "operation_timeout"),
    ],
)
def test_an_operation_that_did_not_succeed_is_an_error_status_naming_it(tmp_path, status, error, http, code) -> None:
    presenter = Presenter(LocalObjectStore(tmp_path, "http://h"), Settings(SHOT_ID_FORMAT="uuid"))
    op = running("op-x").model_copy(update={"status": status, "error": error, "story_id": "story-1"})
    failure = presenter.outcome_error(op, waited_s=280, headers={"Preference-Applied": "wait=280"})
    assert (failure.status_code, failure.code) == (http, code)
    body = failure.body()
    assert body["operation_id"] == "op-x" and body["message"] and body["details"]["status"] == str(status)
    assert failure.headers == {"Preference-Applied": "wait=280"}
    if error and error.shot_id:
        assert body["details"]["shot_id"] == shot_uuid("story-1", 2)
    if http == 504:
        assert "280 s" in body["message"] and "same request again" in body["message"]
