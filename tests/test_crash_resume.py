"""SIGKILL during a render: on restart the operation finishes and finished shots are not redone."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

from tests.server import wait_for

CREATE = {"operation_id": "op-c", "story_id": "story-k", "user_id": "u-1", "display_name": "Mara",
          "script_content": "A lighthouse keeper finds a message in a bottle.", "style": "watercolor"}
RENDER = {"operation_id": "op-r", "story_id": "story-k", "user_id": "u-1"}
SMALL = {"VIDEO_WIDTH": "480", "VIDEO_HEIGHT": "270", "MAX_PARALLEL_SHOTS": "1"}


class JsonWatcher(threading.Thread):
    """Parses every JSON file under a folder, over and over, and records any that fail to parse."""

    def __init__(self, folder: Path):
        super().__init__(daemon=True)
        self.folder = folder
        self.failures: list[str] = []
        self.reads = 0
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            for path in self.folder.rglob("*.json"):
                try:
                    json.loads(path.read_bytes())
                    self.reads += 1
                except FileNotFoundError:
                    continue
                except ValueError as exc:
                    self.failures.append(f"{path}: {exc}")


def clips_on_disk(data_dir: Path) -> dict[str, dict]:
    story = json.loads((data_dir / "stories" / "story-k" / "story.json").read_text())
    return {s["id"]: s["clip"] for s in story["shots"] if s["clip"]}


def test_sigkill_mid_render_resumes_without_redoing_finished_shots(start_service, tmp_path):
    data_dir = tmp_path / "data"
    watcher = JsonWatcher(data_dir)
    env = {**SMALL, "VIDEO_PROVIDER": "tests.fakes:slow_clips", "SLOW_CLIP_S": "1.0"}
    first = start_service(env)
    watcher.start()
    with first.client() as client:
        client.post("/api/v1/storyboard/create", json=CREATE)
        assert wait_for(client, "op-c")["status"] == "succeeded"
        client.post("/api/v1/video/render", json=RENDER)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and len(clips_on_disk(data_dir)) < 2:
            time.sleep(0.05)
    first.kill()
    done_before = clips_on_disk(data_dir)
    shot_count = len(json.loads((data_dir / "stories" / "story-k" / "story.json").read_text())["shots"])
    assert 2 <= len(done_before) < shot_count, "the kill must land mid-render"
    mtimes = {sid: (data_dir / "stories" / "story-k" / "assets" / c["file"]).stat().st_mtime_ns
              for sid, c in done_before.items()}
    op = json.loads((data_dir / "operations" / "op-r.json").read_text())
    assert op["status"] == "running"

    second = start_service(env)
    with second.client() as client:
        finished = wait_for(client, "op-r")
    watcher.stop.set()
    watcher.join()
    assert finished["status"] == "succeeded", finished["error"]
    done_after = clips_on_disk(data_dir)
    assert len(done_after) == shot_count
    for shot_id, clip in done_before.items():
        assert done_after[shot_id]["key"] == clip["key"]
        assert done_after[shot_id]["created_at"] == clip["created_at"]
        path = data_dir / "stories" / "story-k" / "assets" / clip["file"]
        assert path.stat().st_mtime_ns == mtimes[shot_id]
    assert json.loads((data_dir / "operations" / "op-r.json").read_text())["attempts"] == 2
    assert watcher.reads > 100 and watcher.failures == []


def test_rerender_redoes_only_the_regenerated_shot(start_service):
    service = start_service(SMALL)
    with service.client() as client:
        client.post("/api/v1/storyboard/create", json=CREATE)
        wait_for(client, "op-c")
        client.post("/api/v1/video/render", json=RENDER)
        assert wait_for(client, "op-r")["status"] == "succeeded"
        before = {s["id"]: s for s in client.get("/api/v1/stories/story-k").json()["shots"]}
        regen = {"operation_id": "op-g", "story_id": "story-k", "user_id": "u-1", "shot_id": "shot_02",
                 "detail": "First the keeper climbs the stairs, then lights the lamp, finally looks out to sea."}
        client.post("/api/v1/shot/regenerate", json=regen)
        assert wait_for(client, "op-g")["status"] == "succeeded"
        story = client.get("/api/v1/stories/story-k").json()
        assert story["video_stale"] is True
        assert [s["id"] for s in story["shots"] if s["clip_stale"]] == ["shot_02"]
        client.post("/api/v1/video/render", json={**RENDER, "operation_id": "op-r2"})
        assert wait_for(client, "op-r2")["status"] == "succeeded"
        after = {s["id"]: s for s in client.get("/api/v1/stories/story-k").json()["shots"]}
    changed = [sid for sid in before if before[sid]["video_url"] != after[sid]["video_url"]]
    assert changed == ["shot_02"]
    assert all(after[sid]["audio_url"] == before[sid]["audio_url"] for sid in before)
