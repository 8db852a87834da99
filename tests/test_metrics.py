"""`/metrics` parses with Prometheus' own text parser, and its counters move when jobs run and fail."""

from __future__ import annotations

import time

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.receiver import CallbackReceiver
from tests.server import wait_for

CREATE = {"operation_id": "op-m1", "story_id": "story-m", "user_id": "u-1", "display_name": "Fox",
          "script_content": "A fox looks for the moon. It climbs a hill. It meets an owl.", "style": "paper cut"}
SMALL = {"VIDEO_WIDTH": "320", "VIDEO_HEIGHT": "180", "VIDEO_FPS": "12", "SHOT_MIN_S": "1.0"}

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(client: httpx.Client, **headers: str) -> Samples:
    response = client.get("/metrics", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    samples: Samples = {}
    for family in text_string_to_metric_families(response.text):  # raises on anything malformed
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return samples


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def total(samples: Samples, name: str, **labels: str) -> float:
    """Sum over every sample of `name` whose labels include `labels`."""
    wanted = set(labels.items())
    return sum(v for (n, lbls), v in samples.items() if n == name and wanted <= lbls)


def test_counters_move_after_a_create_and_a_render(start_service):
    service = start_service(SMALL)
    with service.client() as client:
        before = scrape(client)
        assert client.post("/api/v1/storyboard/create", json=CREATE).status_code == 202
        assert wait_for(client, "op-m1")["status"] == "succeeded"
        client.post("/api/v1/video/render", json={"operation_id": "op-m2", "story_id": "story-m", "user_id": "u-1"})
        rendered = wait_for(client, "op-m2")
        assert rendered["status"] == "succeeded"
        after = scrape(client)
    shots = len(rendered["result"]["shots"])

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert moved("story2video_operations_total", type="story_create", status="succeeded") == 1
    assert moved("story2video_operations_total", type="video_render", status="succeeded") == 1
    assert moved("story2video_http_requests_total", method="POST", route="/api/v1/storyboard/create",
                 status="202") == 1
    assert total(after, "story2video_http_request_duration_seconds_count",
                 route="/api/v1/operations/{operation_id}") >= 2
    for stage in ("narration", "clip", "compose", "publish"):
        assert moved("story2video_stage_duration_seconds_count", type="video_render", stage=stage) == 1
    assert moved("story2video_stage_duration_seconds_count", type="story_create", stage="keyframe") == 1
    assert moved("story2video_backend_call_duration_seconds_count", stage="clip", backend="embedded",
                 outcome="ok") == shots
    assert moved("story2video_backend_call_duration_seconds_count", stage="keyframe", backend="embedded",
                 outcome="ok") == shots
    assert moved("story2video_ffmpeg_runs_total", result="ok") >= 1
    assert moved("story2video_ffmpeg_speed_ratio_count") >= 1
    assert moved("story2video_ffmpeg_media_seconds_total") > 0
    assert value(after, "story2video_queue_depth") == 0
    assert total(after, "story2video_operations_active") == 0
    assert moved("story2video_operation_duration_seconds_count", type="video_render", status="succeeded") == 1
    assert ("story2video_callback_backlog", frozenset()) in after
    assert set(rendered["stage_seconds"]) == {"narration", "clip", "compose", "publish"}
    assert set(rendered["result"]["stage_seconds"]) == set(rendered["stage_seconds"])


def test_errors_retries_and_dead_letters_are_counted(start_service):
    with CallbackReceiver(refuse_first=10**6) as receiver:
        service = start_service({**SMALL, "STORYBOARD_PROVIDER": "ollama", "OLLAMA_HOST": "http://127.0.0.1:9",
                                 "OLLAMA_RETRIES": "1", "OLLAMA_BACKOFF_BASE_S": "0.05",
                                 "STORYBOARD_FALLBACK": "none", "CALLBACK_URL": receiver.url,
                                 "CALLBACK_MAX_ATTEMPTS": "1", "API_KEY": "metrics-key-123"})
        auth = {"Authorization": "Bearer metrics-key-123"}
        with service.client(headers=auth) as client:
            assert client.post("/api/v1/storyboard/create", json=CREATE).status_code == 202
            failed = wait_for(client, "op-m1")
            assert failed["status"] == "failed" and failed["error"]["code"] == "storyboard_failed"
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and not list((service.data_dir / "outbox-dead").rglob("*.json")):
                time.sleep(0.1)
            samples = scrape(client)
            refused = httpx.get(service.base_url + "/metrics")
    assert refused.status_code == 401
    assert value(samples, "story2video_operations_total", type="story_create", status="failed") == 1
    assert value(samples, "story2video_operation_errors_total", type="story_create", code="storyboard_failed",
                 stage="storyboard") == 1
    assert value(samples, "story2video_backend_retries_total", backend="ollama") >= 1
    assert value(samples, "story2video_backend_errors_total", stage="storyboard", backend="ollama") == 1
    assert value(samples, "story2video_callback_deliveries_total", result="dead_lettered") >= 1
    assert value(samples, "story2video_callback_dead_letters") >= 1
