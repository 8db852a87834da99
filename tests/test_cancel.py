"""Cancelling a running render stops its work; a later render continues from what was finished."""

from __future__ import annotations

import json
import subprocess
import time

from tests.server import wait_for

CREATE = {"operation_id": "op-c", "story_id": "story-x", "user_id": "u-1", "display_name": "Mara",
          "script_content": "A lighthouse keeper finds a message in a bottle.", "style": "watercolor"}
ENV = {"VIDEO_WIDTH": "480", "VIDEO_HEIGHT": "270", "MAX_PARALLEL_SHOTS": "1",
       "VIDEO_PROVIDER": "tests.fakes:slow_clips", "SLOW_CLIP_S": "0.5"}


def children(pid: int) -> list[str]:
    out = subprocess.run(["ps", "-o", "comm=", "--ppid", str(pid)], capture_output=True, text=True).stdout
    return out.split()


def test_cancel_stops_a_render_and_keeps_finished_shots(start_service):
    service = start_service(ENV)
    ids = {"story_id": "story-x", "user_id": "u-1"}
    with service.client() as client:
        client.post("/api/v1/storyboard/create", json=CREATE)
        assert wait_for(client, "op-c")["status"] == "succeeded"
        client.post("/api/v1/video/render", json={**ids, "operation_id": "op-r"})
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            shots = client.get("/api/v1/operations/op-r").json()["progress"]["shots"]
            if list(shots.values()).count("done") >= 1:
                break
            time.sleep(0.05)
        cancelled = client.post("/api/v1/operations/op-r/cancel")
        assert cancelled.status_code == 200
        assert cancelled.json()["status"] == "cancelled"
        assert cancelled.json()["error"]["code"] == "cancelled"
        assert "ffmpeg" not in children(service.proc.pid)
        again = client.post("/api/v1/operations/op-r/cancel")
        assert again.status_code == 409 and again.json()["code"] == "operation_finished"
        story = json.loads((service.data_dir / "stories" / "story-x" / "story.json").read_text())
        kept = {s["id"]: s["clip"]["key"] for s in story["shots"] if s["clip"]}
        assert 1 <= len(kept) < len(story["shots"])
        assert client.get("/api/v1/stories/story-x").json()["status"] == "ready"

        client.post("/api/v1/video/render", json={**ids, "operation_id": "op-r2"})
        assert wait_for(client, "op-r2")["status"] == "succeeded"
        after = {s["id"]: s["video_url"] for s in client.get("/api/v1/stories/story-x").json()["shots"]}
    assert all(after[sid].endswith(key) for sid, key in kept.items())
