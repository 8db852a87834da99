"""Composition options: from settings and render requests, in fingerprints, progress into the operation,
and through a real server (unknown music is refused with 422; music, transitions and WebVTT end to end)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from app.core.errors import ComposeInputError, InvalidInput
from app.core.settings import Settings
from app.models import freshness as fp
from app.models.requests import RenderVideoRequest, check_music_name
from app.models.story import Asset, FinalVideo, Shot, Story
from app.services.compose import ComposeOptions, ShotMedia, compose_story
from app.services.compose.engine import validate_inputs
from app.services.pipeline.render import CompositionProgress, render_options
from tests.media import probe, stream_duration
from tests.server import wait_for

IDS = {"operation_id": "op-r", "story_id": "story-1", "user_id": "u-1"}


@pytest.fixture
def music_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "music"
    folder.mkdir()
    (folder / "calm piano.mp3").write_bytes(b"x")
    monkeypatch.setenv("MUSIC_DIR", str(folder))
    return folder


def test_options_follow_the_settings() -> None:
    settings = Settings(_env_file=None, VIDEO_WIDTH=720, VIDEO_HEIGHT=1280, VIDEO_FPS=30, VIDEO_CRF=18,
                        VIDEO_PRESET="medium", BURN_SUBTITLES=False, SUBTITLE_FONT="Some Font", FFMPEG_TIMEOUT_S=42,
                        VIDEO_FIT="crop", SHORT_CLIP="slow", SHORT_CLIP_MAX_SLOWDOWN=1.5, CLIP_AUDIO=False,
                        CLIP_AUDIO_DB=-20, TRANSITION="fadeblack", TRANSITION_S=0.8, MUSIC_LU=-14, MUSIC_DUCK_DB=9,
                        MUSIC_FADE_S=3, LOUDNESS_LUFS=-23, TRUE_PEAK_DB=-2)  # fmt: skip
    assert settings.compose == ComposeOptions(
        width=720, height=1280, fps=30, crf=18, preset="medium", burn_subtitles=False, font="Some Font",
        timeout_s=42, fit="crop", short_clip="slow", max_slowdown=1.5, clip_audio=False, clip_audio_db=-20,
        transition="fadeblack", transition_s=0.8, music_lu=-14, music_duck_db=9, music_fade_s=3,
        loudness_lufs=-23, true_peak_db=-2,
    )  # fmt: skip
    assert ComposeOptions() == Settings(_env_file=None).compose
    assert Settings(_env_file=None).compose.with_changes(transition="crossfade").transition == "crossfade"


def test_validation_rejects_unusable_shots_and_missing_music(tmp_path: Path) -> None:
    clip, wav = tmp_path / "c.mp4", tmp_path / "a.wav"
    clip.write_bytes(b"x")
    wav.write_bytes(b"x")
    good = ShotMedia(shot_id="ok", clip_path=clip, audio_path=wav, duration=1.0)
    validate_inputs([good], ComposeOptions())
    with pytest.raises(ComposeInputError):
        validate_inputs([], ComposeOptions())
    with pytest.raises(ComposeInputError):
        validate_inputs([good], ComposeOptions(music_path=tmp_path / "missing.mp3"))
    for bad in (
        good.model_copy(update={"shot_id": "bad", "duration": 0.0}),
        good.model_copy(update={"shot_id": "bad", "duration": float("nan")}),
        good.model_copy(update={"shot_id": "bad", "clip_path": tmp_path / "missing.mp4"}),
        good.model_copy(update={"shot_id": "bad", "audio_path": tmp_path}),
    ):
        with pytest.raises(ComposeInputError) as caught:
            validate_inputs([good, bad], ComposeOptions())
        assert caught.value.shot_id == "bad"


async def test_compose_refuses_before_touching_the_output(tmp_path: Path) -> None:
    out = tmp_path / "out"
    with pytest.raises(ComposeInputError):
        await compose_story(shots=[], out_dir=out, options=ComposeOptions())
    assert not out.exists()


def test_odd_sizes_and_unknown_transitions_are_rejected() -> None:
    with pytest.raises(ValueError):
        ComposeOptions(width=641)
    with pytest.raises(ValueError):
        ComposeOptions(transition="wipe")


def test_render_requests_name_music_from_the_folder_only(music_dir: Path) -> None:
    ok = RenderVideoRequest(**IDS, bgm="calm piano.mp3", transition="crossfade", resolution="1080p")
    check_music_name(ok.bgm, music_dir)
    assert ok.composition() == {"bgm": "calm piano.mp3", "transition": "crossfade", "resolution": "1080p"}
    assert RenderVideoRequest(**IDS, bgm="none").bgm == "none"
    assert RenderVideoRequest(**IDS).composition() == {}
    for bad in ("missing.mp3", "../music/calm piano.mp3", ".hidden.mp3", "calm piano.txt"):
        with pytest.raises(InvalidInput) as caught:
            check_music_name(RenderVideoRequest(**IDS, bgm=bad).bgm, music_dir)
        assert caught.value.code == "bgm_not_found" and caught.value.status_code == 422
        assert caught.value.details == {"available": ["calm piano.mp3"]}


def test_render_options_come_from_the_stored_request() -> None:
    stored = RenderVideoRequest(**IDS, transition="fadeblack", transition_s=0.3).model_dump(mode="json")
    assert render_options(stored) == {"transition": "fadeblack", "transition_s": 0.3}


def story(aspect: str = "16:9") -> Story:
    shot = Shot(id="shot_01", sequence=1, subject="s", detail="d", image_detail="i", camera="c", narration="n",
                tone="t", audio=Asset(key="a", file="a.wav", fingerprint="fa", duration=2.0),
                clip=Asset(key="c", file="c.mp4", fingerprint="fc", duration=2.6))  # fmt: skip
    return Story(story_id="s", user_id="u", display_name="d", script_content="x", style="", aspect_ratio=aspect,
                 shots=[shot])  # fmt: skip


@pytest.mark.parametrize(("aspect", "resolution", "size"), [
    ("16:9", None, (1280, 720)), ("9:16", None, (720, 1280)), ("1:1", None, (720, 720)),
    ("16:9", "1080p", (1920, 1080)), ("9:16", "1080p", (1080, 1920)), ("1:1", "720p", (720, 720)),
])  # fmt: skip
def test_output_size_follows_the_story_shape_and_the_requested_resolution(aspect, resolution, size) -> None:
    settings = Settings(_env_file=None)
    assert fp.output_size(aspect, settings, resolution) == size
    render = {"resolution": resolution} if resolution else {}
    options = fp.compose_options(story(aspect), settings, render)
    assert (options.width, options.height) == size


def test_music_comes_from_the_request_else_the_default(tmp_path: Path) -> None:
    settings = Settings(_env_file=None, MUSIC_DIR=tmp_path, DEFAULT_BGM="default.mp3")
    assert fp.compose_options(story(), settings, {}).music_path == tmp_path / "default.mp3"
    assert fp.compose_options(story(), settings, {"bgm": "other.mp3"}).music_path == tmp_path / "other.mp3"
    assert fp.compose_options(story(), settings, {"bgm": "none"}).music_path is None
    assert Settings(_env_file=None, DATA_DIR=tmp_path).music_dir == tmp_path / "music"


def test_the_video_fingerprint_covers_the_composition_options() -> None:
    settings, one = Settings(_env_file=None), story()
    plain = fp.video_fingerprint(one, settings)
    assert fp.video_fingerprint(one, settings, {"transition": "crossfade"}) != plain
    assert fp.video_fingerprint(one, settings, {"bgm": "a.mp3"}) != plain
    assert fp.video_fingerprint(one, Settings(_env_file=None, LOUDNESS_LUFS=-23)) != plain
    assert fp.video_fingerprint(one, Settings(_env_file=None, FFMPEG_TIMEOUT_S=5)) == plain
    # the stored options are what a video is judged current against
    render = {"transition": "crossfade"}
    one.video = FinalVideo(key="v", file="v.mp4", fingerprint=fp.video_fingerprint(one, settings, render),
                           subtitle_key="s", subtitle_file="s.srt", cover_key="c", cover_file="c.jpg",
                           render_options=render)  # fmt: skip
    assert fp.video_fingerprint(one, settings, one.video.render_options) == one.video.fingerprint


class FakeReporter:
    def __init__(self) -> None:
        self.advanced: list[int] = []

    async def advance(self, units: int = 1) -> None:
        self.advanced.append(units)


async def test_compose_progress_becomes_whole_units_written_at_most_once_a_second() -> None:
    reporter, now = FakeReporter(), [0.0]
    progress = CompositionProgress(reporter, 10, interval_s=1.0, clock=lambda: now[0])  # type: ignore[arg-type]
    for share, at in [(0.0, 0.0), (0.05, 0.1), (0.25, 0.2), (0.31, 0.5), (0.46, 1.3), (0.47, 1.4), (0.9, 2.5)]:
        now[0] = at
        await progress(share)
    assert reporter.advanced == [2, 2, 5]  # 0.25 → 2 units; 0.31 too soon; 0.46 → 4; 0.9 → 9
    await progress.finish()
    assert sum(reporter.advanced) == 10
    await progress.finish()
    assert sum(reporter.advanced) == 10


# --- through a real server ----------------------------------------------------------------------

CREATE = {"operation_id": "op-c", "story_id": "story-m", "user_id": "u-1", "display_name": "Mara",
          "script_content": "A lighthouse keeper finds a message in a bottle.", "style": "watercolor"}  # fmt: skip
SMALL = {"VIDEO_WIDTH": "320", "VIDEO_HEIGHT": "180"}


@pytest.fixture
def music_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "music"
    folder.mkdir()
    subprocess.run(["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "sine=f=150:d=3", "-c:a", "libmp3lame",
                    str(folder / "tone.mp3")], check=True)  # fmt: skip
    return folder


def test_unknown_music_is_refused_with_422_before_anything_is_written(start_service, music_folder) -> None:
    service = start_service({**SMALL, "MUSIC_DIR": str(music_folder)})
    with service.client() as client:
        response = client.post("/api/v1/video/render", json={**IDS, "bgm": "nope.mp3"})
        assert response.status_code == 422
        assert response.json()["code"] == "bgm_not_found"
        assert response.json()["details"] == {"available": ["tone.mp3"]}
        assert client.get("/api/v1/operations/op-r").status_code == 404


def test_a_render_with_music_and_crossfades_delivers_webvtt_and_keeps_the_planned_length(
    start_service, music_folder, tmp_path
) -> None:
    service = start_service({**SMALL, "MUSIC_DIR": str(music_folder)})
    with service.client() as client:
        client.post("/api/v1/storyboard/create", json=CREATE)
        assert wait_for(client, "op-c")["status"] == "succeeded"
        render = {"operation_id": "op-r", "story_id": "story-m", "user_id": "u-1", "bgm": "tone.mp3",
                  "transition": "crossfade", "transition_s": 0.4}  # fmt: skip
        assert client.post("/api/v1/video/render", json=render).status_code == 202
        op = wait_for(client, "op-r")
        assert op["status"] == "succeeded", op["error"]
        result = op["result"]
        shots = result["shots"]
        assert op["progress"]["done"] == op["progress"]["total"] == 2 * len(shots) + 11
        vtt = client.get(result["subtitle_vtt_url"])
        assert vtt.status_code == 200 and vtt.headers["content-type"].startswith("text/vtt")
        assert vtt.text.startswith("WEBVTT\n\n")
        lines = [line for line in vtt.text.splitlines()[1:] if "-->" not in line]
        text = re.sub(r"\s+", "", "".join(lines))
        assert all(re.sub(r"\s+", "", s["narration"]) in text for s in shots)
        video = tmp_path / "film.mp4"
        video.write_bytes(client.get(result["video_url"]).content)
        total = float(probe(video)["format"]["duration"])
        assert abs(total - sum(s["duration"] for s in shots)) <= 0.1 * len(shots)
        assert abs(stream_duration(video, "video") - stream_duration(video, "audio")) <= 0.05
        story_view = client.get("/api/v1/stories/story-m").json()
        assert story_view["video_stale"] is False
        assert story_view["subtitle_vtt_url"] == result["subtitle_vtt_url"]
