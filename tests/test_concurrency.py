"""Operations on one story run one at a time, in the order they were accepted (README: Concurrency)."""

from __future__ import annotations

import json
from datetime import datetime

from tests.server import wait_for

CREATE = {"operation_id": "op-c", "story_id": "story-q", "user_id": "u-1", "display_name": "Fox",
          "script_content": "A fox looks for the moon.", "style": "paper cut"}
SMALL = {"VIDEO_WIDTH": "480", "VIDEO_HEIGHT": "270"}


def wait_for_done(service, operation_id: str) -> dict:
    with service.client() as client:
        return wait_for(client, operation_id)


def test_parallel_renders_and_a_regenerate_during_a_render_are_serialized(start_service):
    service = start_service(SMALL)
    ids = {"story_id": "story-q", "user_id": "u-1"}
    with service.client() as client:
        client.post("/api/v1/storyboard/create", json=CREATE)
        first = client.post("/api/v1/video/render", json={**ids, "operation_id": "op-r1"})
        second = client.post("/api/v1/video/render", json={**ids, "operation_id": "op-r2"})
        regen = client.post("/api/v1/shot/regenerate", json={**ids, "operation_id": "op-g", "shot_id": "shot_01",
                                                              "detail": "First the fox sits, then it waits."})
        assert (first.status_code, second.status_code) == (202, 202)
        # A regenerate that arrives before the storyboard exists is refused with a clear code;
        # one that arrives after it queues behind the renders.
        if regen.status_code == 409:
            assert regen.json()["code"] == "storyboard_not_ready"
        else:
            assert regen.status_code == 202
        first_regen_ran = regen.status_code == 202
        ops = {oid: wait_for(client, oid) for oid in ("op-c", "op-r1", "op-r2")}
        assert all(op["status"] == "succeeded" for op in ops.values()), ops
        regen = client.post("/api/v1/shot/regenerate", json={**ids, "operation_id": "op-g2", "shot_id": "shot_01",
                                                               "detail": "First the fox sits, then it waits."})
        third = client.post("/api/v1/video/render", json={**ids, "operation_id": "op-r3"})
        assert (regen.status_code, third.status_code) == (202, 202)
        ops["op-g2"], ops["op-r3"] = wait_for(client, "op-g2"), wait_for(client, "op-r3")
        story = client.get("/api/v1/stories/story-q").json()
    spans = sorted((datetime.fromisoformat(op["started_at"]), datetime.fromisoformat(op["finished_at"]), oid)
                   for oid, op in ops.items())
    order = ["op-c", "op-r1", "op-r2", "op-g2", "op-r3"]
    if first_regen_ran:
        ops["op-g"] = wait_for_done(service, "op-g")
        order.insert(3, "op-g")
        spans = sorted((datetime.fromisoformat(op["started_at"]), datetime.fromisoformat(op["finished_at"]), oid)
                       for oid, op in ops.items())
    assert [oid for *_, oid in spans] == order
    for (_, end, _), (start, _, _) in zip(spans, spans[1:], strict=False):
        assert end <= start, "operations on one story never overlap"
    assert story["video_stale"] is False
    assert story["shots"][0]["keyframe_version"] == (3 if first_regen_ran else 2)
    json.loads((service.data_dir / "stories" / "story-q" / "story.json").read_text())
