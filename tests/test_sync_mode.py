"""Synchronous answers against the real server, as the upstream Go backend calls them (tests/upstream_backend.py).

SYNC_WAIT_S makes each POST wait for its operation and answer in that backend's shape; SHOT_ID_FORMAT=uuid
gives it shot ids it keeps. `Prefer: wait=N` / `Prefer: respond-async` choose per request.
"""

from __future__ import annotations

import concurrent.futures
import json
import time
import uuid

import httpx

from tests.by_path import import_by_path
from tests.media import probe, stream
from tests.server import REPO, wait_for
from tests.upstream_backend import UpstreamBackend, go_uuid

SMALL = {"VIDEO_WIDTH": "320", "VIDEO_HEIGHT": "180", "VIDEO_FPS": "12", "SHOT_MIN_S": "1.0"}
SCRIPT = "小狗找妈妈。它先找到了猫，又找到了鸭子，最后在门口找到了妈妈。"


def test_the_upstream_backend_runs_create_regenerate_render_unmodified(start_service, tmp_path):
    service = start_service({**SMALL, "SYNC_WAIT_S": "120", "SHOT_ID_FORMAT": "uuid"})
    backend = UpstreamBackend(service.base_url)

    story_id, created = backend.create_story(str(uuid.uuid4()), "小狗找妈妈", SCRIPT, "温馨可爱")
    assert created.status == "succeeded", created.error
    path, status, text = backend.exchanges[-1]
    assert status == 200
    raw = json.loads(text)
    assert raw["operation"]["status"] == "succeeded" and raw["operation"]["detail"] is None
    for shot in raw["shots"]:  # no number, boolean or object where the backend could expect a string
        assert isinstance(shot["sequence"], int)
        assert all(v is None or isinstance(v, str) for k, v in shot.items() if k != "sequence"), shot
    rows = backend.shots_of(story_id)
    with service.client() as client:
        story = client.get(f"/api/v1/stories/{story_id}").json()
        view = client.get(f"/api/v1/operations/{created.id}").json()
    uuids = [s["uuid"] for s in story["shots"]]
    assert sorted(view["progress"]["shots"]) == sorted(uuids)  # every view names shots the same way
    assert [s["id"] for s in view["result"]["shots"]] == uuids
    assert len(rows) == len(story["shots"]) >= 4
    # The backend kept our ids (they parse as UUIDs), one row per shot, in order.
    assert [r.id for r in rows] == [s["uuid"] for s in story["shots"]] == [s["id"] for s in story["shots"]]
    assert all(go_uuid(r.id) for r in rows)
    assert all(r.image_url.startswith(service.base_url) and r.title and r.details for r in rows)

    target = rows[1]
    old_image = target.image_url
    regen = backend.regenerate(story_id, target.id, "水彩风格。小狗在雨中奔跑，最后停在门前。", "")
    assert regen.status == "succeeded", regen.error
    assert backend.exchanges[-1][1] == 200
    assert len(backend.shots_of(story_id)) == len(rows)  # matched to its row, no new one
    assert target.image_url != old_image and "水彩" in target.details
    with service.client() as client:
        assert client.get(target.image_url).status_code == 200
        story = client.get(f"/api/v1/stories/{story_id}").json()
    assert story["shots"][1]["keyframe_version"] == 2 and story["shots"][1]["image_url"] == target.image_url

    rendered = backend.render(story_id)
    assert rendered.status == "succeeded", rendered.error
    video_url = backend.stories[story_id].video_url
    assert video_url.startswith(service.base_url + "/media/")
    with service.client() as client:
        response = client.get(video_url)
    assert response.status_code == 200 and response.content[4:8] == b"ftyp"
    (tmp_path / "film.mp4").write_bytes(response.content)
    assert stream(probe(tmp_path / "film.mp4"), "video")["codec_name"] == "h264"

    # The same request again (the backend retrying) answers the same result, no new work.
    again = backend.render(story_id, operation_id=rendered.id)
    assert again.status == "succeeded" and backend.stories[story_id].video_url == video_url


def test_default_mode_answers_202_and_prefer_chooses_per_request(start_service):
    service = start_service(SMALL)
    backend = UpstreamBackend(service.base_url)
    # As today: 202 with the operation, which the upstream backend cannot use (it finds no shots).
    story_id, created = backend.create_story("u-1", "t", SCRIPT, "")
    assert backend.exchanges[-1][1] == 202
    assert created.status == "failed" and "no shots" in created.error
    rendered = backend.render(story_id)  # accepted behind the create; the backend takes it for done
    assert backend.exchanges[-1][1] == 202 and json.loads(backend.exchanges[-1][2])["status"] == "queued"
    assert rendered.status == "succeeded" and backend.stories[story_id].video_url == ""
    assert "Preference-Applied" not in httpx.post(f"{service.base_url}/api/v1/video/render", json={
        "operation_id": rendered.id, "story_id": story_id, "user_id": "u-1"}).headers

    body = {"operation_id": "op-wait", "story_id": "story-wait", "user_id": "u-1", "display_name": "t",
            "script_content": SCRIPT, "style": ""}
    with service.client(timeout=120) as client:
        waited = client.post("/api/v1/storyboard/create", json=body, headers={"Prefer": "wait=90"})
        assert waited.status_code == 200, waited.text
        assert waited.headers["Preference-Applied"] == "wait=90"
        answer = waited.json()
        assert answer["operation"] == {"operation_id": "op-wait", "status": "succeeded", "detail": None,
                                       "type": "story_create", "story_id": "story-wait"}
        assert [s["id"] for s in answer["shots"]] == [f"shot_{i:02d}" for i in range(1, len(answer["shots"]) + 1)]

        regen = {"operation_id": "op-async", "story_id": "story-wait", "user_id": "u-1",
                 "shot_id": answer["shots"][0]["uuid"], "detail": "雨夜，小狗在门口等待。"}
        accepted = client.post("/api/v1/shot/regenerate", json=regen, headers={"Prefer": "respond-async"})
        assert accepted.status_code == 202 and accepted.json()["status"] == "queued"
        assert accepted.headers["Preference-Applied"] == "respond-async"
        done = wait_for(client, "op-async")
        assert done["status"] == "succeeded" and done["result"]["shot"]["id"] == "shot_01"
        # Waiting for an operation that has already ended answers at once with its result.
        replay = client.post("/api/v1/shot/regenerate", json=regen, headers={"Prefer": "wait=5"})
        assert replay.status_code == 200 and replay.json()["shot"]["sequence"] == 1
        assert replay.json()["shot"]["image_url"] == done["result"]["image_url"]


def test_a_render_that_outlives_the_wait_is_504_then_a_retry_gets_it(start_service):
    service = start_service({**SMALL, "SYNC_WAIT_S": "1", "CLIP_PROVIDER": "tests.fakes:slow_clips",
                             "SLOW_CLIP_S": "2", "CLIP_FALLBACK": "none"})
    base = {"story_id": "story-slow", "user_id": "u-1"}
    with service.client(timeout=60) as client:
        create = {**base, "operation_id": "op-c", "display_name": "t", "script_content": SCRIPT, "style": ""}
        assert client.post("/api/v1/storyboard/create", json=create, headers={"Prefer": "wait=60"}).status_code == 200
        render = {**base, "operation_id": "op-r"}
        first = client.post("/api/v1/video/render", json=render)
        assert first.status_code == 504, first.text
        body = first.json()
        assert body["code"] == "operation_timeout" and body["operation_id"] == "op-r" and body["message"]
        answers = [first.status_code]
        for _ in range(60):
            response = client.post("/api/v1/video/render", json=render)
            answers.append(response.status_code)
            if response.status_code != 504:
                break
        assert response.status_code == 200, response.text
        assert set(answers) <= {504, 200} and len(answers) >= 3
        result = response.json()
        assert result["operation"]["status"] == "succeeded" and result["video_url"]
        assert not result.get("video_data")
        assert client.get(result["video_url"]).content[4:8] == b"ftyp"
        op = client.get("/api/v1/operations/op-r").json()
        assert op["status"] == "succeeded"  # one operation, run once, however often it was asked for


def test_a_failing_render_is_never_2xx(start_service):
    service = start_service({**SMALL, "SYNC_WAIT_S": "60", "SHOT_ID_FORMAT": "uuid",
                             "CLIP_PROVIDER": "tests.fakes:broken_clips", "CLIP_FALLBACK": "none"})
    backend = UpstreamBackend(service.base_url)
    story_id, created = backend.create_story(str(uuid.uuid4()), "t", SCRIPT, "")
    assert created.status == "succeeded", created.error
    rendered = backend.render(story_id)
    status, text = backend.exchanges[-1][1:]
    assert status == 502, text
    assert rendered.status == "failed" and backend.stories[story_id].status == "failed"
    assert "clip_failed" in rendered.error and "GPU server unavailable" in rendered.error
    error = httpx.Response(status, text=text).json()
    assert error["operation_id"] == rendered.id and error["details"]["stage"] == "clip"
    assert go_uuid(error["details"]["shot_id"])  # the failing shot, named as the backend knows it


def test_length_limits_are_clear_4xx_the_backend_records(start_service):
    service = start_service({"SYNC_WAIT_S": "30", "SHOT_ID_FORMAT": "uuid"})
    backend = UpstreamBackend(service.base_url)
    cases = [("display_name", "字" * 300, "", "300 characters, the limit is 200"),
             ("style", "t", "字" * 250, "250 characters, the limit is 200")]
    for field, display_name, style, says in cases:
        _, op = backend.create_story(str(uuid.uuid4()), display_name, SCRIPT, style)
        assert op.status == "failed" and "status=422" in op.error
        assert f"{field}: too long: {says}" in op.error
    _, op = backend.create_story(str(uuid.uuid4()), "t", "x" * 20_001, "")
    assert "status=422" in op.error and "script_too_long" in op.error and "20000" in op.error
    with service.client() as client:
        regen = {"operation_id": str(uuid.uuid4()), "story_id": str(uuid.uuid4()), "user_id": "u",
                 "shot_id": str(uuid.uuid4()), "detail": "d" * 2001, "style": ""}
        refused = client.post("/api/v1/shot/regenerate", json=regen)
    assert refused.status_code == 422 and "detail: too long: 2001 characters, the limit is 2000" in refused.text


async def test_a_hundred_waiting_requests_leave_the_server_responsive(tmp_path):
    """bench/sync_wait.py in short: 100 requests waiting on slow operations (its figures: docs/benchmarks.md)."""
    bench = import_by_path("sync_wait_bench", REPO / "bench" / "sync_wait.py")
    result = await bench.measure(requests=100, wait_s=8, window_s=3.0, data_dir=tmp_path / "data", quick=True)
    assert result["answers"]["status_codes"] == [504] and result["answers"]["operation_timeout"] == 100
    ops, waiting = result["phases"]["ops"], result["phases"]["waiting"]
    assert waiting["samples"] >= 3.0 / 0.02 / 4, result  # /healthz kept answering (its latency: the benchmark)
    assert waiting["threads"] <= ops["threads"]  # waiting holds no thread
    assert result["waiter_cost_kib"] < 200, result  # measured: ~20 KiB each


def test_stopping_the_service_answers_waiting_requests_at_once_and_the_work_resumes(start_service):
    env = {"SYNC_WAIT_S": "120", "STORYBOARD_PROVIDER": "tests.fakes:slow_planner", "SLOW_PLAN_S": "3",
           "STORYBOARD_FALLBACK": "none", **SMALL}
    service = start_service(env)
    body = {"operation_id": "op-stop", "story_id": "story-stop", "user_id": "u-1", "display_name": "t",
            "script_content": SCRIPT, "style": ""}
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        waiting = pool.submit(httpx.post, f"{service.base_url}/api/v1/storyboard/create", json=body, timeout=60)
        time.sleep(1.0)
        started = time.monotonic()
        service.stop()  # SIGTERM: uvicorn would otherwise let the request wait out its 120 s
        answer = waiting.result(timeout=30)
    assert time.monotonic() - started < 10
    assert answer.status_code == 504 and answer.json()["code"] == "operation_timeout"
    assert "stopping" in answer.json()["message"]
    again = start_service(env, data_dir=service.data_dir)  # resumes the operation; the retry gets it
    retry = httpx.post(f"{again.base_url}/api/v1/storyboard/create", json=body, timeout=60)
    assert retry.status_code == 200 and retry.json()["operation"]["status"] == "succeeded"
