"""A failing backend degrades one stage of a shot to the next backend in its chain, and says so."""

from __future__ import annotations

from tests.server import wait_for

CREATE = {"operation_id": "op-c", "story_id": "story-f", "user_id": "u-1", "display_name": "Fox",
          "script_content": "A fox looks for the moon.", "style": "paper cut"}
BROKEN = {"VIDEO_WIDTH": "480", "VIDEO_HEIGHT": "270", "CLIP_PROVIDER": "tests.fakes:broken_clips"}


def test_broken_i2v_degrades_shots_to_ken_burns_and_reports_it(start_service):
    service = start_service(BROKEN)
    with service.client() as client:
        client.post("/api/v1/storyboard/create", json=CREATE)
        assert wait_for(client, "op-c")["status"] == "succeeded"
        client.post("/api/v1/video/render", json={"operation_id": "op-r", "story_id": "story-f", "user_id": "u-1"})
        rendered = wait_for(client, "op-r")
        assert rendered["status"] == "succeeded", rendered["error"]
        degraded = rendered["result"]["degraded_shots"]
        shots = rendered["result"]["shots"]
        assert {d["shot_id"] for d in degraded} == {s["id"] for s in shots}
        assert all(d["stage"] == "clip" and "GPU server unavailable" in d["reason"] for d in degraded)
        assert all(s["degraded"]["clip"] for s in shots)
        assert client.get(rendered["result"]["video_url"]).status_code == 200

        ready = client.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["not_ready"] == ["clip:tests.fakes:broken_clips"]


def test_without_a_fallback_the_failure_is_a_clean_operation_error(start_service):
    service = start_service({**BROKEN, "CLIP_FALLBACK": "none"})
    with service.client() as client:
        client.post("/api/v1/storyboard/create", json=CREATE)
        wait_for(client, "op-c")
        client.post("/api/v1/video/render", json={"operation_id": "op-r", "story_id": "story-f", "user_id": "u-1"})
        failed = wait_for(client, "op-r")
    assert failed["status"] == "failed"
    error = failed["error"]
    assert (error["code"], error["stage"], error["shot_id"]) == ("clip_failed", "clip", "shot_01")
    assert "GPU server unavailable" in error["message"]


def test_readyz_reports_every_embedded_backend_ready(start_service):
    with start_service().client() as client:
        report = client.get("/readyz")
    assert report.status_code == 200
    assert {b["stage"] for b in report.json()["backends"]} == {"storyboard", "keyframe", "clip", "narration", "enhance",
                                                              "publish"}
