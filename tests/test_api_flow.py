"""The upstream README's curl flow against a real server: create → regenerate → render."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
from PIL import ImageChops

from tests.media import image_facts, probe, rgb_image, stream, stream_duration
from tests.server import wait_for

CREATE = {"operation_id": "op-001", "story_id": "story-001", "user_id": "u-001", "display_name": "温馨短片",
          "script_content": "小狗找妈妈的故事", "style": "温馨可爱"}
REGENERATE = {"operation_id": "op-003", "story_id": "story-001", "shot_id": "shot_03", "user_id": "u-001",
              "detail": "动画风格。冷暖交织的侧光，高对比度阴影。画面中央，小狗先绕着屋子转圈，然后冲向门口，"
                        "最后停在门框前，眼睛里带着疑惑。",
              "style": "温馨可爱"}
RENDER = {"operation_id": "op-004", "story_id": "story-001", "user_id": "u-001"}


def download(client: httpx.Client, url: str, target: Path) -> Path:
    response = client.get(url)
    assert response.status_code == 200, url
    target.write_bytes(response.content)
    return target


def srt_text(srt: str) -> str:
    lines = [ln for ln in srt.splitlines() if ln.strip() and not ln.strip().isdigit() and "-->" not in ln]
    return re.sub(r"\s+", "", "".join(lines))


def test_create_regenerate_render_over_http(start_service, tmp_path):
    service = start_service()
    with service.client() as client:
        accepted = client.post("/api/v1/storyboard/create", json=CREATE)
        assert accepted.status_code == 202
        assert accepted.json()["status"] == "queued"
        created = wait_for(client, "op-001")
        assert created["status"] == "succeeded", created["error"]
        shots = created["result"]["shots"]
        assert 4 <= len(shots) <= 12
        assert [s["id"] for s in shots] == [f"shot_{i:02d}" for i in range(1, len(shots) + 1)]
        for shot in shots:
            png = download(client, shot["image_url"], tmp_path / f"{shot['id']}.png")
            assert image_facts(png) == ("PNG", (1280, 720))
        before = {s["id"]: client.get(s["image_url"]).content for s in shots}

        assert client.post("/api/v1/shot/regenerate", json=REGENERATE).status_code == 202
        regen = wait_for(client, "op-003")
        assert regen["status"] == "succeeded", regen["error"]
        assert regen["result"]["keyframe_version"] == 2
        story = client.get("/api/v1/stories/story-001").json()
        after = {s["id"]: s for s in story["shots"]}
        assert after["shot_03"]["detail"] == REGENERATE["detail"]
        new_image = client.get(after["shot_03"]["image_url"]).content
        assert new_image != before["shot_03"]
        assert _pixels_differ(before["shot_03"], new_image, tmp_path)
        for shot_id, image in before.items():
            if shot_id != "shot_03":
                assert client.get(after[shot_id]["image_url"]).content == image
                assert after[shot_id]["keyframe_version"] == 1

        assert client.post("/api/v1/video/render", json=RENDER).status_code == 202
        rendered = wait_for(client, "op-004")
        assert rendered["status"] == "succeeded", rendered["error"]
        result = rendered["result"]
        video = download(client, result["video_url"], tmp_path / "final.mp4")
        info = probe(video)
        v, a = stream(info, "video"), stream(info, "audio")
        assert (v["codec_name"], a["codec_name"]) == ("h264", "aac")
        assert (v["width"], v["height"]) == (1280, 720)
        durations = [s["duration"] for s in result["shots"]]
        assert all(d and d > 0 for d in durations)
        total = float(info["format"]["duration"])
        assert abs(total - sum(durations)) <= 0.1 * len(durations)
        assert abs(stream_duration(video, "video") - stream_duration(video, "audio")) <= 0.2

        srt = client.get(result["subtitle_url"]).text
        for shot in result["shots"]:
            assert re.sub(r"\s+", "", shot["narration"]) in srt_text(srt)
            assert client.get(shot["video_url"]).status_code == 200
            assert client.get(shot["audio_url"]).headers["content-type"].startswith("audio/")
        story = client.get("/api/v1/stories/story-001").json()
        assert story["status"] == "ready" and story["video_stale"] is False
        assert story["video_url"] == result["video_url"]


def _pixels_differ(old: bytes, new: bytes, tmp_path: Path) -> bool:
    (tmp_path / "a.png").write_bytes(old)
    (tmp_path / "b.png").write_bytes(new)
    diff = ImageChops.difference(rgb_image(tmp_path / "a.png"), rgb_image(tmp_path / "b.png"))
    return diff.getbbox() is not None
