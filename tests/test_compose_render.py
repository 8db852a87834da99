"""Real renders through FFmpeg from generated inputs of mixed kinds, checked with ffprobe and ffmpeg.

Inputs: a 1024×576@24 H.264 clip with 16 kHz mono AAC sound, a 720×1280@30 HEVC clip without
sound, and a 640×480@16 MPEG-4 Part 2 clip, each a solid colour; narrations are 1 kHz tones
shorter than their shots (so there are gaps), the music a 150 Hz tone shorter than the film.
"""

from __future__ import annotations

import array
import asyncio
import math
import re
import struct
import subprocess
from pathlib import Path

import pytest
from PIL import Image, ImageChops

from app.services.compose import ComposeOptions, ComposeResult, ShotMedia, compose_story
from app.services.compose.layout import subtitle_layout
from tests.media import probe, stream, stream_duration

pytestmark = pytest.mark.slow

SMALL = {"width": 320, "height": 180}
# (name, lavfi colour, RGB, ffmpeg output options, shot seconds, narration)
CLIPS = [
    ("h264", "red", (255, 0, 0), ["-s", "1024x576", "-r", "24", "-c:v", "libx264", "-preset", "ultrafast"], 2.0,
     "从前有一座山，山里有一座庙。庙里有个老和尚在给小和尚讲故事。"),
    ("hevc", "blue", (0, 0, 255), ["-s", "720x1280", "-r", "30", "-c:v", "libx265", "-preset", "ultrafast",
                                   "-x265-params", "log-level=none"], 2.0, "Once upon a time, there was a mountain."),
    ("mpeg4", "yellow", (255, 255, 0), ["-s", "640x480", "-r", "16", "-c:v", "mpeg4", "-q:v", "3"], 2.0,
     "He said: “好的” and left, slowly."),
]  # fmt: skip
CLIP_SECONDS = {"h264": 2.4, "hevc": 1.0, "mpeg4": 3.0}  # longer, shorter, longer than the shot
SPEECH_S = 0.8
MUSIC_HZ, SPEECH_HZ = 150, 1000
FPS = 25


def ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error", "-y", *args], check=True)


def make_inputs(folder: Path) -> list[ShotMedia]:
    shots = []
    for i, (name, colour, _, encode, shot_s, text) in enumerate(CLIPS):
        clip, wav = folder / f"{name}.mp4", folder / f"{name}.wav"
        seconds = CLIP_SECONDS[name]
        if name == "hevc":  # the last half-second is cyan: a held clip shows cyan, a looped one blue
            source = ["-f", "lavfi", "-i", f"color=c={colour}:s=720x1280:r=30:d={seconds - 0.5},"
                      "tpad=stop_mode=add:stop_duration=0.5:color=cyan"]  # fmt: skip
        else:
            source = ["-f", "lavfi", "-i", f"color=c={colour}:s=64x64:r=25:d={seconds}"]
        sound = ["-f", "lavfi", "-i", f"sine=f=2000:r=16000:d={seconds}"] if name == "h264" else []
        audio_out = ["-c:a", "aac", "-ac", "1", "-ar", "16000"] if sound else ["-an"]
        ffmpeg(*source, *sound, *encode, "-pix_fmt", "yuv420p", *audio_out, str(clip))
        ffmpeg("-f", "lavfi", "-i", f"sine=f={SPEECH_HZ}:r=22050:d={SPEECH_S}", "-ac", "1", str(wav))
        shots.append(ShotMedia(shot_id=f"s{i}", clip_path=clip, audio_path=wav, duration=shot_s, narration=text))
    return shots


def compose(shots: list[ShotMedia], out_dir: Path, on_progress=None, **options) -> ComposeResult:
    return asyncio.run(compose_story(shots=shots, out_dir=out_dir, options=ComposeOptions(**options),
                                     on_progress=on_progress))  # fmt: skip


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> list[ShotMedia]:
    return make_inputs(tmp_path_factory.mktemp("inputs"))


@pytest.fixture(scope="module")
def music(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("music") / "tone.mp3"
    ffmpeg("-f", "lavfi", "-i", f"sine=f={MUSIC_HZ}:r=44100:d=2.5", "-ac", "2", "-c:a", "libmp3lame", str(path))
    return path


@pytest.fixture(scope="module")
def progress() -> list[float]:
    return []


@pytest.fixture(scope="module")
def film(inputs, music, progress, tmp_path_factory) -> ComposeResult:
    """Crossfades, ducked music, clip sound kept, subtitles burned in, in an awkwardly named folder."""
    async def record(share: float) -> None:
        progress.append(share)

    awkward = tmp_path_factory.mktemp("render") / "it's: a, [weird]; dir\\x"
    return compose(inputs, awkward, on_progress=record, transition="crossfade", transition_s=0.4, music_path=music,
                   music_fade_s=0.2, **SMALL)  # fmt: skip


@pytest.fixture(scope="module")
def plain(inputs, tmp_path_factory) -> ComposeResult:
    """Cuts, no music, no burned subtitles, clips cropped to fill the frame."""
    return compose(inputs, tmp_path_factory.mktemp("plain"), burn_subtitles=False, fit="crop", **SMALL)


def frame(video: Path, at: float, width: int, height: int) -> Image.Image:
    raw = subprocess.run(["ffmpeg", "-v", "error", "-ss", f"{at:.3f}", "-i", str(video), "-frames:v", "1", "-f",
                          "rawvideo", "-pix_fmt", "rgb24", "-"], check=True, capture_output=True).stdout  # fmt: skip
    return Image.frombytes("RGB", (width, height), raw[: width * height * 3])


def close(pixel: tuple[int, int, int], rgb: tuple[int, int, int], tolerance: int = 40) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip(pixel, rgb, strict=True))


def starts() -> list[float]:
    return [sum(c[4] for c in CLIPS[:i]) for i in range(len(CLIPS))]


def cue_blocks(text: str) -> list[tuple[float, float, str]]:
    cues = []
    for block in text.strip().split("\n\n"):
        lines = [line for line in block.split("\n") if line and not line.isdigit() and line != "WEBVTT"]
        if not lines:
            continue
        start, end = (to_seconds(t) for t in lines[0].split(" --> "))
        cues.append((start, end, "".join(lines[1:])))
    return cues


def to_seconds(stamp: str) -> float:
    h, m, s, ms = map(int, re.split(r"[:,.]", stamp))
    return h * 3600 + m * 60 + s + ms / 1000


def loudness(video: Path) -> tuple[float, float]:
    log = subprocess.run(["ffmpeg", "-hide_banner", "-nostats", "-i", str(video), "-map", "0:a", "-af",
                          "ebur128=peak=true:framelog=verbose", "-f", "null", "-"],
                         capture_output=True, text=True, check=True).stderr  # fmt: skip
    summary = log[log.rindex("Summary:") :]
    integrated = float(re.search(r"I:\s*(-?[\d.]+) LUFS", summary).group(1))
    peak = float(re.search(r"Peak:\s*(-?[\d.]+|-inf) dBFS", summary).group(1))
    return integrated, peak


def lowpassed(video: Path, rate: int = 8000) -> array.array:
    """The mix as mono float samples, with everything above ~300 Hz (narration, clip sound) removed."""
    raw = subprocess.run(["ffmpeg", "-v", "error", "-i", str(video), "-map", "0:a", "-af",
                          "lowpass=f=300,lowpass=f=300,lowpass=f=300,lowpass=f=300", "-ac", "1", "-ar", str(rate),
                          "-f", "f32le", "-"], check=True, capture_output=True).stdout  # fmt: skip
    return array.array("f", raw)


def rms_db(samples: array.array, start: float, end: float, rate: int = 8000) -> float:
    window = samples[int(start * rate) : int(end * rate)]
    return 10 * math.log10(sum(v * v for v in window) / len(window) + 1e-20)


def top_level_boxes(path: Path) -> list[str]:
    boxes, data, pos = [], path.read_bytes(), 0
    while pos + 8 <= len(data):
        size, kind = struct.unpack(">I4s", data[pos : pos + 8])
        if size == 1:
            size = struct.unpack(">Q", data[pos + 8 : pos + 16])[0]
        elif size == 0:
            size = len(data) - pos
        boxes.append(kind.decode("latin-1"))
        pos += size
    return boxes


# --- format, length, sync -----------------------------------------------------------------------


@pytest.mark.parametrize("which", ["film", "plain"])
def test_output_is_h264_aac_of_the_asked_size_and_rate(which: str, request: pytest.FixtureRequest) -> None:
    result: ComposeResult = request.getfixturevalue(which)
    info = probe(result.video_path)
    video, audio = stream(info, "video"), stream(info, "audio")
    assert (video["codec_name"], video["pix_fmt"], video["width"], video["height"]) == ("h264", "yuv420p", 320, 180)
    assert video["r_frame_rate"] == f"{FPS}/1"
    assert (audio["codec_name"], int(audio["sample_rate"]), audio["channels"]) == ("aac", 48_000, 2)


@pytest.mark.parametrize("which", ["film", "plain"])
def test_duration_equals_the_planned_timeline_and_sound_matches_picture(which, request) -> None:
    result: ComposeResult = request.getfixturevalue(which)
    planned = sum(c[4] for c in CLIPS)  # transitions overlap the clips, never shorten the film
    assert result.shot_durations == [c[4] for c in CLIPS]
    video_s, audio_s = stream_duration(result.video_path, "video"), stream_duration(result.video_path, "audio")
    assert video_s == pytest.approx(planned, abs=len(CLIPS) / FPS)
    assert float(probe(result.video_path)["format"]["duration"]) == pytest.approx(planned, abs=len(CLIPS) / FPS)
    assert abs(video_s - audio_s) <= 0.05


def test_moov_comes_before_mdat(film: ComposeResult) -> None:
    boxes = top_level_boxes(film.video_path)
    assert boxes[0] == "ftyp" and boxes.index("moov") < boxes.index("mdat")


def test_outputs_have_their_final_names_and_no_temporary_files_are_left(film: ComposeResult) -> None:
    folder = film.video_path.parent
    assert sorted(p.name for p in folder.iterdir()) == ["cover.jpg", "subtitles.srt", "subtitles.vtt", "video.mp4"]


def test_progress_rises_to_one(progress: list[float], film: ComposeResult) -> None:
    assert film.video_path.exists()
    assert progress[0] == 0.0 and progress[-1] == 1.0
    assert progress == sorted(progress)
    assert any(0.1 < share < 1.0 for share in progress)  # reported while FFmpeg encodes


# --- sound --------------------------------------------------------------------------------------


@pytest.mark.parametrize("which", ["film", "plain"])
def test_loudness_is_on_target_and_true_peak_under_the_ceiling(which: str, request) -> None:
    result: ComposeResult = request.getfixturevalue(which)
    integrated, peak = loudness(result.video_path)
    assert integrated == pytest.approx(-16.0, abs=1.0)
    assert peak <= -1.5
    assert result.loudness_lufs == pytest.approx(-16.0, abs=0.5)


def test_music_ducks_at_least_6_db_while_the_narration_plays(film: ComposeResult) -> None:
    music = lowpassed(film.video_path)
    for start, (*_, shot_s, _) in zip(starts()[1:], CLIPS[1:], strict=True):  # after the music's fade-in
        speaking = rms_db(music, start + 0.3, start + SPEECH_S - 0.05)
        gap = rms_db(music, start + SPEECH_S + 0.6, start + shot_s - 0.1)
        assert gap - speaking >= 6.0, (start, gap, speaking)


def test_without_music_the_gaps_are_quiet(plain: ComposeResult) -> None:
    music = lowpassed(plain.video_path)
    assert rms_db(music, 2.0 + SPEECH_S + 0.3, 3.9) < -60


# --- picture ------------------------------------------------------------------------------------


@pytest.mark.parametrize("which", ["film", "plain"])
def test_each_shot_midpoint_shows_that_shots_clip(which: str, request) -> None:
    result: ComposeResult = request.getfixturevalue(which)
    for start, (name, _, rgb, _, shot_s, _) in zip(starts(), CLIPS, strict=True):
        pixel = frame(result.video_path, start + shot_s / 2, 320, 180).getpixel((160, 40))
        if name == "hevc":  # held on its cyan last frame by then
            assert close(pixel, (0, 255, 255)), (which, name, pixel)
        else:
            assert close(pixel, rgb), (which, name, pixel)


def test_a_short_clip_holds_its_last_frame_and_never_loops(plain: ComposeResult) -> None:
    start = starts()[1]  # the HEVC clip: 0.5 s blue, 0.5 s cyan, in a 2 s shot
    assert close(frame(plain.video_path, start + 0.2, 320, 180).getpixel((160, 90)), (0, 0, 255))
    for at in (1.2, 1.6, 1.9):
        assert close(frame(plain.video_path, start + at, 320, 180).getpixel((160, 90)), (0, 255, 255))


def test_pad_letterboxes_and_crop_fills_other_shapes(film: ComposeResult, plain: ComposeResult) -> None:
    at = starts()[1] + 1.0  # a 9:16 clip in a 16:9 film
    assert close(frame(film.video_path, at, 320, 180).getpixel((20, 90)), (0, 0, 0))
    assert close(frame(plain.video_path, at, 320, 180).getpixel((20, 90)), (0, 255, 255))


def test_crossfade_blends_the_neighbouring_shots_at_the_boundary(film: ComposeResult, plain: ComposeResult) -> None:
    boundary = starts()[2]  # cyan (held HEVC) into yellow
    blended = frame(film.video_path, boundary, 320, 180).getpixel((160, 40))
    assert 60 < blended[0] < 200 and blended[1] > 200 and 60 < blended[2] < 200  # half cyan, half yellow
    assert close(frame(plain.video_path, boundary + 0.02, 320, 180).getpixel((160, 40)), (255, 255, 0))


def test_burned_subtitles_appear_in_a_cue_and_only_with_burn_in(film: ComposeResult, plain: ComposeResult) -> None:
    start, end, _ = cue_blocks(film.srt_path.read_text(encoding="utf-8"))[0]
    at = (start + end) / 2
    with_subs, without = frame(film.video_path, at, 320, 180), frame(plain.video_path, at, 320, 180)
    region = (0, 120, 320, 180)
    diff = ImageChops.difference(with_subs.crop(region), without.crop(region)).convert("L")
    assert diff.point(lambda v: 255 if v > 40 else 0).histogram()[255] > 200
    assert close(without.getpixel((160, 170)), CLIPS[0][2])


def test_cover_is_a_jpeg_of_the_first_shot(film: ComposeResult) -> None:
    with Image.open(film.cover_path) as cover:
        assert cover.format == "JPEG" and cover.size == (320, 180)
        assert close(cover.convert("RGB").getpixel((160, 90)), CLIPS[0][2])


# --- subtitle files -----------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["srt", "vtt"])
def test_subtitle_cues_hold_the_narration_in_order_within_their_shots(kind: str, film: ComposeResult) -> None:
    path = film.srt_path if kind == "srt" else film.vtt_path
    text = path.read_text(encoding="utf-8")
    assert text.startswith("WEBVTT\n\n") if kind == "vtt" else text.startswith("1\n00:00:00,000 --> ")
    cues = cue_blocks(text)
    assert re.sub(r"\s+", "", "".join(c[2] for c in cues)) == re.sub(r"\s+", "", "".join(c[5] for c in CLIPS))
    bounds = [(s, s + c[4]) for s, c in zip(starts(), CLIPS, strict=True)]
    for start, end, line in cues:
        owner = next(b for b in bounds if b[0] - 1e-3 <= start < b[1])
        assert end <= owner[1] + 1e-3, line
        narration = CLIPS[bounds.index(owner)][5]
        assert re.sub(r"\s+", "", line) in re.sub(r"\s+", "", narration)
    for before, after in zip(cues, cues[1:], strict=False):
        assert before[1] <= after[0] + 1e-3


def test_srt_and_vtt_carry_the_same_cues(film: ComposeResult) -> None:
    srt = cue_blocks(film.srt_path.read_text(encoding="utf-8"))
    assert srt == cue_blocks(film.vtt_path.read_text(encoding="utf-8")) and srt


# --- shapes and sizes ---------------------------------------------------------------------------

LONG = "这是一句很长很长的字幕，用来检查在竖屏和方形画面里换行之后是否仍然留在安全区域之内。And English too."


@pytest.mark.parametrize("size", [(1080, 1920), (720, 720)])
def test_portrait_1080p_and_square_films_keep_subtitles_in_the_safe_area(size, inputs, tmp_path) -> None:
    w, h = size
    shot = inputs[0].model_copy(update={"narration": LONG, "duration": 1.0})
    result = compose([shot], tmp_path, preset="ultrafast", width=w, height=h, fps=FPS)
    video = stream(probe(result.video_path), "video")
    assert (video["width"], video["height"]) == (w, h)
    cue_start, cue_end, _ = cue_blocks(result.srt_path.read_text(encoding="utf-8"))[0]
    image = frame(result.video_path, (cue_start + cue_end) / 2, w, h).convert("L")
    ink = image.point(lambda v: 255 if v > 200 else 0).getbbox()  # white text on a red (dark in L) picture
    assert ink is not None
    layout = subtitle_layout(w, h)
    slack = layout.outline + 2
    assert ink[0] >= layout.margin_lr - slack and ink[2] <= w - layout.margin_lr + slack
    assert ink[3] <= h - layout.margin_bottom + slack


def test_slow_mode_stretches_a_short_clip_before_holding_it(inputs, tmp_path) -> None:
    shot = inputs[1].model_copy(update={"duration": 1.2})  # 1 s clip, blue then cyan from 0.5 s
    held = compose([shot], tmp_path / "hold", preset="ultrafast", **SMALL)
    slowed = compose([shot], tmp_path / "slow", preset="ultrafast", short_clip="slow", max_slowdown=1.2, **SMALL)
    assert close(frame(held.video_path, 0.54, 320, 180).getpixel((160, 90)), (0, 255, 255))
    assert close(frame(slowed.video_path, 0.54, 320, 180).getpixel((160, 90)), (0, 0, 255))  # cyan from 0.6 s
    assert close(frame(slowed.video_path, 1.1, 320, 180).getpixel((160, 90)), (0, 255, 255))


def test_peaky_sound_is_limited_under_the_ceiling_at_the_target_loudness(inputs, tmp_path) -> None:
    # a quiet hum with sparse loud clicks: plain gain to -16 LUFS would push the clicks over the ceiling
    wav = tmp_path / "peaky.wav"
    ffmpeg("-f", "lavfi", "-i", "aevalsrc=0.1*sin(2*PI*440*t)+0.9*lt(mod(t\\,0.5)\\,0.001):s=44100:d=2", str(wav))
    shot = inputs[0].model_copy(update={"audio_path": wav, "duration": 2.0})
    result = compose([shot], tmp_path / "out", preset="ultrafast", clip_audio=False, **SMALL)
    integrated, peak = loudness(result.video_path)
    assert integrated == pytest.approx(-16.0, abs=1.0)
    assert peak <= -1.5
    assert -3.0 < result.true_peak_db <= -1.5  # limited near the ceiling (as decoded), not merely turned down


def test_vp9_webm_at_60fps_with_opus_sound_fades_through_black(inputs, tmp_path) -> None:
    webm = tmp_path / "vp9.webm"  # not an MP4: probed by ffprobe
    ffmpeg("-f", "lavfi", "-i", "color=c=green:s=320x240:r=60:d=1.2", "-f", "lavfi", "-i", "sine=f=3000:d=1.2",
           "-c:v", "libvpx-vp9", "-deadline", "realtime", "-cpu-used", "8", "-c:a", "libopus", "-ac", "2", str(webm))
    shots = [inputs[0].model_copy(update={"duration": 1.0}),
             inputs[2].model_copy(update={"clip_path": webm, "duration": 1.0})]  # fmt: skip
    result = compose(shots, tmp_path / "out", preset="ultrafast", transition="fadeblack", transition_s=0.4, **SMALL)
    video = stream(probe(result.video_path), "video")
    assert (video["width"], video["height"], video["r_frame_rate"]) == (320, 180, "25/1")
    assert stream_duration(result.video_path, "video") == pytest.approx(2.0, abs=2 / FPS)
    assert close(frame(result.video_path, 1.0, 320, 180).getpixel((160, 40)), (0, 0, 0), 30)  # through black
    assert close(frame(result.video_path, 1.5, 320, 180).getpixel((160, 40)), (0, 128, 0), 40)
    assert close(frame(result.video_path, 0.5, 320, 180).getpixel((160, 40)), CLIPS[0][2])
