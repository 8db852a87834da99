"""Enhanced renders end to end over the HTTP API: through the video_enhance service (FFmpeg engine) started here,
and through the embedded engine with ENHANCE=true as a setting. The film has twice the rate and size of a plain
render, the same length, its sound in sync, and subtitles drawn at the final size (not an upscaled copy)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest
from PIL import Image

from app.services.compose.layout import subtitle_layout
from tests.media import gray_frame, ssim, video_facts
from tests.server import REPO, ServiceProcess, wait_for
from tests.subprocess_server import ScriptServer

SMALL = {"VIDEO_WIDTH": "320", "VIDEO_HEIGHT": "180", "VIDEO_FPS": "12", "SHOT_MIN_S": "1.0"}
IDS = {"story_id": "story-h", "user_id": "u-1"}
CREATE = {**IDS, "operation_id": "op-c", "display_name": "Fox", "style": "paper cut",
          "script_content": "A fox looks for the moon. It climbs the hill."}
#: A moment inside the first shot's subtitle (shots last at least SHOT_MIN_S).
SUBTITLE_AT_S = 0.7


@pytest.fixture(scope="module")
def enhancer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ScriptServer]:
    """The video_enhance service with its FFmpeg engine (as on a machine without a GPU)."""
    tmp = tmp_path_factory.mktemp("video-enhance")
    env = {"ENHANCE_PORT": "{port}", "ENHANCE_WORK_DIR": str(tmp / "work"), "ENHANCE_PRESET": "veryfast",
           "ENHANCE_SR_ENGINE": "ffmpeg", "ENHANCE_INTERP_ENGINE": "ffmpeg"}
    server = ScriptServer([sys.executable, "-m", "video_api.main"], cwd=REPO / "video_enhance", env=env,
                          log_path=tmp / "server.log").start()
    yield server
    server.stop()


def render(client: httpx.Client, operation_id: str, **fields: object) -> dict:
    accepted = client.post("/api/v1/video/render", json={**IDS, "operation_id": operation_id, **fields})
    assert accepted.status_code == 202, accepted.text
    done = wait_for(client, operation_id)
    assert done["status"] == "succeeded", done["error"]
    return done


def download(client: httpx.Client, op: dict, path: Path) -> Path:
    response = client.get(op["result"]["video_url"])
    assert response.status_code == 200
    path.write_bytes(response.content)
    return path


def assert_enhanced_copy(plain: Path, enhanced: Path, shots: int) -> None:
    """Twice the rate and size of the plain film, its length within one frame per shot, sound within 50 ms."""
    before, after = video_facts(plain), video_facts(enhanced)
    assert (before["size"], before["fps"]) == ((320, 180), 12)
    assert (after["size"], after["fps"]) == ((640, 360), 24)
    assert abs(after["duration"] - before["duration"]) <= shots / 24
    assert abs(after["frames"] - 2 * before["frames"]) <= shots
    assert after["audio_duration"] is not None and abs(after["audio_duration"] - after["duration"]) < 0.05


def subtitle_box(frame: np.ndarray) -> np.ndarray:
    """The band where subtitles are drawn on a frame of this size (two lines above the bottom margin)."""
    height, width = frame.shape
    layout = subtitle_layout(width, height)
    top = height - layout.margin_bottom - 2 * layout.font_size
    return frame[top:height - layout.margin_bottom + layout.font_size // 4, layout.margin_lr:width - layout.margin_lr]


def assert_subtitles_drawn_at_the_final_size(enhanced: Path, native: Path, plain: Path) -> None:
    """The enhanced film's subtitle box matches a plain film composed at 640×360, and not the 320×180 film
    upscaled (whose text is blurred and laid out for the small frame)."""
    at_size, reference = gray_frame(enhanced, SUBTITLE_AT_S), gray_frame(native, SUBTITLE_AT_S)
    small = gray_frame(plain, SUBTITLE_AT_S)
    upscaled = np.asarray(Image.fromarray(small.astype(np.uint8)).resize((640, 360), Image.Resampling.LANCZOS))
    assert (subtitle_box(reference) > 235).sum() > 100  # there is text to compare
    drawn = ssim(subtitle_box(at_size), subtitle_box(reference))
    copied = ssim(subtitle_box(upscaled), subtitle_box(reference))
    assert drawn > 0.8 and drawn > copied + 0.15, (drawn, copied)


def test_enhanced_render_through_the_video_enhance_service(start_service, enhancer, tmp_path: Path) -> None:
    service = start_service({**SMALL, "ENHANCE_URL": enhancer.base_url, "ENHANCE_POLL_INTERVAL_S": "0.2"})
    with service.client() as client:
        assert client.post("/api/v1/storyboard/create", json=CREATE).status_code == 202
        assert wait_for(client, "op-c")["status"] == "succeeded"
        ready = client.get("/readyz").json()
        assert any(b["stage"] == "enhance" and b["backend"] == "http" and b["ready"] for b in ready["backends"])
        plain = download(client, render(client, "op-p"), tmp_path / "plain.mp4")
        op = render(client, "op-e", enhance=True, multi=2, scale=2)
        enhanced = download(client, op, tmp_path / "enhanced.mp4")
    shots = len(op["result"]["shots"])
    assert_enhanced_copy(plain, enhanced, shots)
    enhancement = op["result"]["enhancement"]
    assert enhancement["enhanced"] is True and not enhancement["not_enhanced"]
    assert (enhancement["width"], enhancement["height"], enhancement["fps"]) == (640, 360, 24)
    assert {s["backend"] for s in enhancement["shots"]} == {"http"}
    assert {s["method"] for s in enhancement["shots"]} == {"interp=ffmpeg;sr=ffmpeg"}
    assert not [d for d in op["result"]["degraded_shots"] if d["stage"] == "enhance"]
    service.stop()

    # the same story composed plainly at 640×360 and 24 fps: subtitles laid out and drawn for that frame
    native_service = start_service({"VIDEO_WIDTH": "640", "VIDEO_HEIGHT": "360", "VIDEO_FPS": "24",
                                    "SHOT_MIN_S": "1.0"}, data_dir=service.data_dir)
    with native_service.client() as client:
        native = download(client, render(client, "op-640"), tmp_path / "native.mp4")
    assert_subtitles_drawn_at_the_final_size(enhanced, native, plain)


def test_enhance_setting_with_the_embedded_engine(start_service, tmp_path: Path) -> None:
    service: ServiceProcess = start_service({**SMALL, "ENHANCE": "true"})  # no ENHANCE_URL: the embedded engine
    with service.client() as client:
        client.post("/api/v1/storyboard/create", json=CREATE)
        assert wait_for(client, "op-c")["status"] == "succeeded"
        op = render(client, "op-e")  # no `enhance` field: the setting decides
        enhanced = download(client, op, tmp_path / "enhanced.mp4")
        plain = download(client, render(client, "op-p", enhance=False), tmp_path / "plain.mp4")
        again = render(client, "op-e2")
        story = client.get(f"/api/v1/stories/{IDS['story_id']}").json()
    assert_enhanced_copy(plain, enhanced, len(op["result"]["shots"]))
    enhancement = op["result"]["enhancement"]
    assert enhancement["enhanced"] is True and {s["method"] for s in enhancement["shots"]} == {"resynthesized"}
    assert again["result"]["video_url"] == op["result"]["video_url"]
    assert story["video_stale"] is False
