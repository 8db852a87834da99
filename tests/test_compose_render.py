"""Real renders through FFmpeg: small synthetic clips and tones in, a checked MP4 and SRT out."""

from __future__ import annotations

import asyncio
import re
import shutil
import struct
from pathlib import Path

import pytest
from PIL import Image, ImageChops

from app.services.compose import ComposeOptions, ComposeResult, ShotMedia, compose_story
from app.services.ffmpeg import probe, run_ffmpeg

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not (shutil.which("ffmpeg") and shutil.which("ffprobe")), reason="needs ffmpeg"),
]

SMALL = {"width": 320, "height": 180}
# (colour, RGB, clip size, clip fps, clip seconds, tone seconds, shot seconds, narration)
SHOTS = [
    ("red", (255, 0, 0), "640x480", 24, 0.6, 0.9, 1.5, "从前有一座山，山里有一座庙。庙里有个老和尚在给小和尚讲故事。"),
    ("blue", (0, 0, 255), "1280x720", 30, 3.0, 1.0, 1.2, "Once upon a time, there was a mountain."),
    ("yellow", (255, 255, 0), "320x240", 25, 1.4, 1.9, 1.4, "He said: “好的” and left."),
]


def _ffmpeg(*args: str) -> None:
    asyncio.run(run_ffmpeg(list(args), timeout_s=60))


def _make_inputs(folder: Path) -> list[ShotMedia]:
    folder.mkdir(parents=True, exist_ok=True)
    shots = []
    for i, (colour, _, size, fps, clip_s, tone_s, shot_s, text) in enumerate(SHOTS):
        clip, wav = folder / f"{i}.mp4", folder / f"{i}.wav"
        _ffmpeg("-f", "lavfi", "-i", f"color=c={colour}:s={size}:r={fps}:d={clip_s}",
                "-c:v", "libx264", "-pix_fmt", "yuv420p", "-preset", "ultrafast", str(clip))  # fmt: skip
        _ffmpeg("-f", "lavfi", "-i", f"sine=f={300 + 200 * i}:r=22050:d={tone_s}", "-ac", "1", str(wav))
        shots.append(ShotMedia(shot_id=f"s{i}", clip_path=clip, audio_path=wav, duration=shot_s, narration=text))
    return shots


def _compose(shots: list[ShotMedia], out_dir: Path, **options) -> ComposeResult:
    return asyncio.run(compose_story(shots=shots, out_dir=out_dir, options=ComposeOptions(**options)))


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> list[ShotMedia]:
    return _make_inputs(tmp_path_factory.mktemp("inputs"))


@pytest.fixture(scope="module")
def burned(shots: list[ShotMedia], tmp_path_factory: pytest.TempPathFactory) -> ComposeResult:
    awkward = tmp_path_factory.mktemp("render") / "it's: a, [weird]; dir\\x"
    return _compose(shots, awkward, **SMALL)


@pytest.fixture(scope="module")
def plain(shots: list[ShotMedia], tmp_path_factory: pytest.TempPathFactory) -> ComposeResult:
    return _compose(shots, tmp_path_factory.mktemp("plain"), burn_subtitles=False, **SMALL)


def _frame(video: Path, at: float, width: int, height: int) -> Image.Image:
    raw = video.parent / f"frame-{at:.3f}.rgb"
    _ffmpeg("-ss", f"{at:.3f}", "-i", str(video), "-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "rgb24", str(raw))
    image = Image.frombytes("RGB", (width, height), raw.read_bytes()[: width * height * 3])
    raw.unlink()
    return image


def _top_level_boxes(path: Path) -> list[str]:
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


def _srt_cues(path: Path) -> list[tuple[int, str, str, str]]:
    blocks = path.read_text(encoding="utf-8").strip().split("\n\n")
    cues = []
    for block in blocks:
        index, times, *lines = block.split("\n")
        start, end = times.split(" --> ")
        cues.append((int(index), start, end, "\n".join(lines)))
    return cues


def _seconds(stamp: str) -> float:
    h, m, s, ms = map(int, re.split(r"[:,]", stamp))
    return h * 3600 + m * 60 + s + ms / 1000


def _close(pixel: tuple[int, int, int], rgb: tuple[int, int, int], tolerance: int = 40) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip(pixel, rgb, strict=True))


def test_film_is_h264_aac_of_the_planned_length(burned: ComposeResult) -> None:
    info = asyncio.run(probe(burned.video_path))
    streams = {s["codec_type"]: s for s in info["streams"]}
    assert streams["video"]["codec_name"] == "h264" and streams["audio"]["codec_name"] == "aac"
    assert (streams["video"]["width"], streams["video"]["height"]) == (320, 180)
    assert streams["video"]["pix_fmt"] == "yuv420p" and streams["video"]["r_frame_rate"] == "25/1"
    assert int(streams["audio"]["sample_rate"]) == 48_000 and streams["audio"]["channels"] == 2
    planned = sum(shot[6] for shot in SHOTS)
    assert burned.duration == pytest.approx(planned, abs=0.1 * len(SHOTS))
    assert float(info["format"]["duration"]) == pytest.approx(planned, abs=0.1 * len(SHOTS))
    assert float(streams["video"]["duration"]) == pytest.approx(float(streams["audio"]["duration"]), abs=0.2)


def test_outputs_have_their_final_names_and_no_leftovers(burned: ComposeResult) -> None:
    folder = burned.video_path.parent
    assert sorted(p.name for p in folder.iterdir()) == ["cover.jpg", "subtitles.srt", "video.mp4"]
    assert (burned.srt_path.name, burned.cover_path.name) == ("subtitles.srt", "cover.jpg")


def test_moov_comes_before_mdat(burned: ComposeResult) -> None:
    boxes = _top_level_boxes(burned.video_path)
    assert boxes[0] == "ftyp"
    assert boxes.index("moov") < boxes.index("mdat")


def test_srt_holds_every_narration_line_in_order(burned: ComposeResult) -> None:
    cues = _srt_cues(burned.srt_path)
    assert [c[0] for c in cues] == list(range(1, len(cues) + 1))
    text = re.sub(r"\s+", "", "".join(c[3] for c in cues))
    assert text == re.sub(r"\s+", "", "".join(shot[7] for shot in SHOTS))
    for _, start, end, _ in cues:
        assert 0 <= _seconds(start) < _seconds(end) <= burned.duration + 0.001


def test_each_shot_shows_its_colour_at_its_midpoint(burned: ComposeResult) -> None:
    start = 0.0
    for colour, rgb, *_, shot_s, _ in SHOTS:
        image = _frame(burned.video_path, start + shot_s / 2, 320, 180)
        assert _close(image.getpixel((160, 40)), rgb), colour
        start += shot_s


def test_a_short_clip_holds_its_last_frame(burned: ComposeResult) -> None:
    image = _frame(burned.video_path, SHOTS[0][6] - 0.1, 320, 180)  # red clip ended at 0.6 s
    assert _close(image.getpixel((160, 40)), SHOTS[0][1])


def test_cover_is_a_jpeg_of_the_first_shot(burned: ComposeResult) -> None:
    with Image.open(burned.cover_path) as cover:
        assert cover.format == "JPEG" and cover.size == (320, 180)
        assert _close(cover.convert("RGB").getpixel((160, 90)), SHOTS[0][1])


def test_burned_subtitles_change_the_subtitle_region(burned: ComposeResult, plain: ComposeResult) -> None:
    start, end, _ = _srt_cues(burned.srt_path)[0][1:]
    at = (_seconds(start) + _seconds(end)) / 2
    with_subs, without = _frame(burned.video_path, at, 320, 180), _frame(plain.video_path, at, 320, 180)
    region = (0, 120, 320, 180)
    diff = ImageChops.difference(with_subs.crop(region), without.crop(region)).convert("L")
    changed = diff.point(lambda v: 255 if v > 40 else 0).histogram()[255]
    assert changed > 200
    assert _close(without.getpixel((160, 170)), SHOTS[0][1])
    assert plain.srt_path.read_text(encoding="utf-8") == burned.srt_path.read_text(encoding="utf-8")


def test_silent_story_renders_without_subtitles(shots: list[ShotMedia], tmp_path: Path) -> None:
    quiet = [shots[1].model_copy(update={"narration": ""})]
    result = _compose(quiet, tmp_path, **SMALL)
    assert result.srt_path.read_text(encoding="utf-8") == ""
    assert result.duration == pytest.approx(SHOTS[1][6], abs=0.1)


def test_full_size_render(shots: list[ShotMedia], tmp_path: Path) -> None:
    result = _compose(shots[:2], tmp_path)
    info = asyncio.run(probe(result.video_path))
    video = next(s for s in info["streams"] if s["codec_type"] == "video")
    assert (video["codec_name"], video["width"], video["height"]) == ("h264", 1280, 720)
    assert result.duration == pytest.approx(SHOTS[0][6] + SHOTS[1][6], abs=0.2)
    image = _frame(result.video_path, SHOTS[0][6] / 2, 1280, 720)
    assert _close(image.getpixel((640, 100)), SHOTS[0][1])
    assert _close(image.getpixel((100, 100)), (0, 0, 0))  # 4:3 clip pillarboxed in 16:9


def test_failure_leaves_no_temp_files_and_keeps_the_old_film(shots: list[ShotMedia], tmp_path: Path) -> None:
    (tmp_path / "video.mp4").write_bytes(b"old")
    with pytest.raises(TimeoutError):
        _compose(shots, tmp_path, timeout_s=0.01, **SMALL)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["video.mp4"]
    assert (tmp_path / "video.mp4").read_bytes() == b"old"
