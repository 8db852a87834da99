"""Unit tests of composition's pure layers: timeline, cue splitting, SRT, FFmpeg arguments."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import ValidationError

from app.core.settings import Settings
from app.services.compose import ComposeInputError, ComposeOptions, ShotMedia, compose_story
from app.services.compose.engine import validate_shots
from app.services.compose.ffmpeg_args import (
    cover_args,
    escape_graph,
    escape_option_value,
    film_args,
    film_graph,
    span_samples,
    subtitles_filter,
)
from app.services.compose.subtitles import srt_timestamp, to_srt, write_srt
from app.services.compose.text import LINE_UNITS, MAX_LINES, split_cues, width, wrap_lines
from app.services.compose.timeline import Cue, ShotSpan, build_cues, film_duration, shot_cues, shot_spans

ZH = "从前有一座山，山里有一座庙，庙里有个老和尚在给小和尚讲故事。他讲的是什么呢？“从前有一座山……”"
EN = (
    "Once upon a time, there was a mountain; on the mountain stood a temple. An old monk told a story "
    "to a young monk, which was a very long story indeed, going on and on without ever stopping. "
    "Mr. Smith paid $3.50 at 10:30!"
)
MIXED = "小明说：“Hello, world!” 然后他走了。Supercalifragilisticexpialidociousandevenlongerwordthatneverends."
AWKWARD = "/tmp/it's a: weird, [dir]; back\\slash/sub titles.srt"


def _shot(i: int, duration: float, narration: str = "") -> ShotMedia:
    return ShotMedia(
        shot_id=f"s{i}",
        clip_path=Path(f"/clips/{i}.mp4"),
        audio_path=Path(f"/tts/{i}.wav"),
        duration=duration,
        narration=narration,
    )


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


# --- timeline -----------------------------------------------------------------------------------


@pytest.mark.parametrize("fps", [24, 25, 30])
def test_spans_are_contiguous_whole_frames_summing_to_the_planned_length(fps: int) -> None:
    durations = [1.01, 2.333, 0.5, 3.1, 0.04, 2.71828]
    spans = shot_spans([_shot(i, d) for i, d in enumerate(durations)], fps)
    assert [s.shot_id for s in spans] == [f"s{i}" for i in range(len(durations))]
    assert spans[0].first_frame == 0
    for before, after in zip(spans, spans[1:], strict=False):
        assert after.first_frame == before.first_frame + before.frames
    assert all(s.frames >= 1 for s in spans)
    assert film_duration(spans) == pytest.approx(sum(durations), abs=0.5 / fps + 1e-9)
    for span, duration in zip(spans, durations, strict=True):
        assert span.duration == pytest.approx(duration, abs=1 / fps + 1e-9)


def test_audio_samples_match_the_frames_exactly() -> None:
    spans = shot_spans([_shot(i, d) for i, d in enumerate([1.01, 2.333, 0.5])], 30)
    assert sum(span_samples(s) for s in spans) == round(film_duration(spans) * 48_000)
    assert span_samples(spans[0]) == spans[0].frames * 1600


# --- cue text -----------------------------------------------------------------------------------


@pytest.mark.parametrize("narration", [ZH, EN, MIXED, "……好。", "Hi.", "  ", "", "a" * 300, "字" * 100])
def test_cues_cover_every_character_once_in_order_within_two_lines(narration: str) -> None:
    chunks = split_cues(narration)
    assert _squash("".join(chunks)) == _squash(narration)
    for chunk in chunks:
        assert chunk and chunk == chunk.strip()
        assert width(chunk) <= LINE_UNITS * MAX_LINES
        lines = wrap_lines(chunk)
        assert 1 <= len(lines) <= MAX_LINES
        assert all(width(line) <= LINE_UNITS for line in lines)
        assert _squash("".join(lines)) == _squash(chunk)


def test_cues_split_at_sentences_and_keep_punctuation() -> None:
    chunks = split_cues(ZH)
    assert chunks[0].endswith("讲故事。")
    assert chunks[1] == "他讲的是什么呢？"
    assert chunks[2] == "“从前有一座山……”"
    en = split_cues(EN)
    assert en[0] == "Once upon a time, there was a mountain;"
    assert en[-1] == "Mr. Smith paid $3.50 at 10:30!"


def test_line_limits_are_18_cjk_or_42_latin_characters() -> None:
    assert wrap_lines("字" * 18) == ["字" * 18]
    assert [len(line) for line in wrap_lines("字" * 36)] == [18, 18]
    assert wrap_lines("x" * 42) == ["x" * 42]
    words = "word " * 16
    assert all(len(line) <= 42 for line in wrap_lines(words))


def test_wrapping_prefers_spaces_and_punctuation() -> None:
    assert wrap_lines("从前有一座山，山里有一座庙，庙里有个老和尚在给小和尚讲故事。") == [
        "从前有一座山，山里有一座庙，",
        "庙里有个老和尚在给小和尚讲故事。",
    ]
    lines = wrap_lines("An old monk told a story to a young monk, which was a long story indeed.")
    assert len(lines) == 2
    assert all(not line.startswith(" ") and not line.endswith(" ") for line in lines)
    assert " ".join(lines) == "An old monk told a story to a young monk, which was a long story indeed."


# --- cue timing ---------------------------------------------------------------------------------


def _film(fps: int = 25) -> tuple[list[ShotMedia], list[ShotSpan]]:
    shots = [_shot(0, 4.3, ZH), _shot(1, 2.0, ""), _shot(2, 6.1, EN), _shot(3, 3.7, MIXED)]
    return shots, shot_spans(shots, fps)


def test_cues_are_ordered_inside_their_shots_and_cover_all_narration() -> None:
    shots, spans = _film()
    cues = build_cues(shots, spans)
    by_id = {s.shot_id: s for s in spans}
    for cue in cues:
        span = by_id[cue.shot_id]
        assert span.start - 1e-9 <= cue.start < cue.end <= span.end + 1e-9
    for before, after in zip(cues, cues[1:], strict=False):
        assert before.end <= after.start + 1e-9
    for shot in shots:
        text = "".join(c.text for c in cues if c.shot_id == shot.shot_id)
        assert _squash(text) == _squash(shot.narration)


def test_cues_follow_the_measured_speech_else_stop_a_tail_before_the_shot_end() -> None:
    shots, spans = _film()
    measured = build_cues(shots, spans, [3.0, 1.0, 10.0, None])
    last = {c.shot_id: c for c in measured}
    assert last["s0"].end == pytest.approx(spans[0].start + 3.0, abs=0.002)
    assert last["s2"].end <= spans[2].end + 1e-9  # a WAV longer than the shot is cut with it
    assert last["s3"].end == pytest.approx(spans[3].end - 0.3, abs=0.002)


def test_cue_durations_are_proportional_to_speech_length() -> None:
    span = ShotSpan("s", 0, 250, 25)
    short, long = shot_cues(span, "短句。这是一个长得多的句子，有很多字。", speech_s=8.0)
    assert (long.end - long.start) > 2 * (short.end - short.start)
    assert short.start == 0 and long.end == pytest.approx(8.0)


# --- SRT ----------------------------------------------------------------------------------------


def test_srt_timestamps() -> None:
    assert srt_timestamp(0) == "00:00:00,000"
    assert srt_timestamp(1.5) == "00:00:01,500"
    assert srt_timestamp(3723.4567) == "01:02:03,457"
    assert srt_timestamp(-0.2) == "00:00:00,000"


def test_srt_blocks_are_numbered_from_one_with_lines(tmp_path: Path) -> None:
    cues = [
        Cue("a", 0.0, 1.25, "第一句。", ("第一句。",)),
        Cue("b", 1.25, 61.5, "two lines here", ("two lines", "here")),
    ]
    srt = to_srt(cues)
    assert srt == ("1\n00:00:00,000 --> 00:00:01,250\n第一句。\n\n2\n00:00:01,250 --> 00:01:01,500\ntwo lines\nhere\n")
    path = write_srt(cues, tmp_path / "x.srt")
    assert path.read_bytes() == srt.encode("utf-8")
    assert to_srt([]) == ""


# --- filter escaping ----------------------------------------------------------------------------


def _get_token(text: str, i: int, terms: str) -> tuple[str, int]:
    """Mirror of libavutil's av_get_token: backslash escapes, '…' quotes, trailing spaces trimmed."""
    while i < len(text) and text[i].isspace():
        i += 1
    out, keep = [], 0
    while i < len(text) and text[i] not in terms:
        if text[i] == "\\" and i + 1 < len(text):
            out.append(text[i + 1])
            i += 2
            keep = len(out)
        elif text[i] == "'":
            end = text.index("'", i + 1)
            out.extend(text[i + 1 : end])
            i = end + 1
            keep = len(out)
        else:
            out.append(text[i])
            i += 1
    token = "".join(out)
    return token[:keep] + token[keep:].rstrip(), i


def _parse_filter(spec: str) -> tuple[str, dict[str, str]]:
    name, rest = spec.split("=", 1)
    args, end = _get_token(rest, 0, "[],;")
    assert end == len(rest), "the filter's arguments must not leak into the graph"
    options, i = {}, 0
    while i < len(args):
        key, _, _ = args[i:].partition("=")
        value, i = _get_token(args, i + len(key) + 1, ":")
        options[key] = value
        i += 1
    return name, options


@pytest.mark.parametrize("path", [AWKWARD, "/plain/subtitles.srt", "/x/a'b'c/d:e,f;g[h]\\i.srt"])
def test_subtitles_filter_escapes_paths_for_the_graph(path: str) -> None:
    options = ComposeOptions(font="Noto Sans CJK SC")
    name, parsed = _parse_filter(subtitles_filter(Path(path), options))
    assert name == "subtitles"
    assert parsed["filename"] == path
    assert parsed["force_style"].startswith("FontName=Noto Sans CJK SC,FontSize=")
    assert "MarginV=" in parsed["force_style"] and "Outline=" in parsed["force_style"]


def test_escape_levels() -> None:
    assert escape_option_value("a:b'c\\d,e") == "a\\:b\\'c\\\\d,e"
    assert escape_graph("a,b;c[d]e'f\\g") == "a\\,b\\;c\\[d\\]e\\'f\\\\g"


def test_style_scales_with_the_frame() -> None:
    def size(w: int, h: int) -> float:
        style = subtitles_filter(Path("/s.srt"), ComposeOptions(width=w, height=h))
        return float(re.search(r"FontSize=([\d.]+)", style).group(1))

    # SRT is drawn on a 288-unit-high canvas: the same size in units on 16:9, smaller on 9:16.
    assert size(1280, 720) == size(1920, 1080)
    assert size(1080, 1920) < size(1920, 1080)


# --- film and cover arguments -------------------------------------------------------------------


def _pairs(args: list[str]) -> list[tuple[str, str]]:
    return list(zip(args, args[1:], strict=False))


def test_film_args_encode_h264_aac_faststart() -> None:
    shots, spans = _film()
    options = ComposeOptions(width=640, height=360, fps=30, crf=20, preset="fast")
    args = film_args(shots, spans, Path("/out/video.tmp.mp4"), options, srt_path=Path("/out/s.srt"))
    pairs = _pairs(args)
    for pair in [
        ("-c:v", "libx264"),
        ("-pix_fmt", "yuv420p"),
        ("-crf", "20"),
        ("-preset", "fast"),
        ("-r", "30"),
        ("-c:a", "aac"),
        ("-ar", "48000"),
        ("-ac", "2"),
        ("-movflags", "+faststart"),
        ("-f", "mp4"),
        ("-map", "[vout]"),
        ("-map", "[aout]"),
    ]:
        assert pair in pairs
    assert int(args[args.index("-b:a") + 1].rstrip("k")) >= 128
    assert args[-1] == "/out/video.tmp.mp4"
    inputs = [b for a, b in pairs if a == "-i"]
    assert inputs == [p for s in shots for p in (str(s.clip_path), str(s.audio_path))]


def test_film_graph_fits_each_shot_and_concatenates() -> None:
    shots, spans = _film()
    options = ComposeOptions(width=640, height=360, fps=25)
    graph = film_graph(spans, options, Path("/out/s.srt"))
    chains = graph.split(";")
    assert len(chains) == 2 * len(spans) + 2
    for i, span in enumerate(spans):
        video, audio = chains[2 * i], chains[2 * i + 1]
        assert video.startswith(f"[{2 * i}:v]") and video.endswith(f"[v{i}]")
        for part in ("scale=640:360:force_original_aspect_ratio=decrease", "pad=640:360", "setsar=1"):
            assert part in video
        assert "fps=25" in video and "format=yuv420p" in video
        assert "tpad=stop_mode=clone" in video and f"trim=end_frame={span.frames}," in video
        assert audio.startswith(f"[{2 * i + 1}:a]") and audio.endswith(f"[a{i}]")
        assert "aresample=48000" in audio and "channel_layouts=stereo" in audio
        assert f"apad=whole_len={span_samples(span)}" in audio
        assert f"atrim=end_sample={span_samples(span)}" in audio
    assert chains[-2] == "[v0][a0][v1][a1][v2][a2][v3][a3]concat=n=4:v=1:a=1[vcat][aout]"
    assert chains[-1].startswith("[vcat]subtitles=") and chains[-1].endswith("[vout]")


def test_film_graph_without_subtitles() -> None:
    _, spans = _film()
    graph = film_graph(spans, ComposeOptions(), None)
    assert "subtitles" not in graph
    assert graph.endswith("concat=n=4:v=1:a=1[vout][aout]")


def test_relative_paths_are_not_read_as_protocols() -> None:
    shot = ShotMedia(shot_id="s", clip_path=Path("rtmp:x.mp4"), audio_path=Path("a.wav"), duration=1.0)
    args = film_args([shot], shot_spans([shot], 25), Path("out:v.mp4"), ComposeOptions())
    assert "file:rtmp:x.mp4" in args and "file:a.wav" in args and args[-1] == "file:out:v.mp4"


def test_cover_takes_the_middle_frame_of_the_shot() -> None:
    span = ShotSpan("s0", 0, 50, 25)
    args = cover_args(Path("/c/0.mp4"), span, Path("/out/cover.tmp.jpg"), ComposeOptions())
    graph = args[args.index("-filter_complex") + 1]
    assert "trim=start_frame=25:end_frame=26" in graph and "tpad=stop_mode=clone" in graph
    assert ("-frames:v", "1") in _pairs(args)
    assert args[-1] == "/out/cover.tmp.jpg"


# --- options and validation ---------------------------------------------------------------------


def test_options_from_settings() -> None:
    settings = Settings(
        VIDEO_WIDTH=720,
        VIDEO_HEIGHT=1280,
        VIDEO_FPS=30,
        VIDEO_CRF=18,
        VIDEO_PRESET="medium",
        BURN_SUBTITLES=False,
        SUBTITLE_FONT="Some Font",
        FFMPEG_TIMEOUT_S=42,
    )
    assert ComposeOptions.from_settings(settings) == ComposeOptions(
        width=720, height=1280, fps=30, crf=18, preset="medium", burn_subtitles=False, font="Some Font", timeout_s=42
    )
    assert ComposeOptions() == ComposeOptions.from_settings(Settings(_env_file=None))


def test_odd_dimensions_are_rejected() -> None:
    with pytest.raises(ValidationError):
        ComposeOptions(width=641)


def test_validation_rejects_unusable_shots(tmp_path: Path) -> None:
    clip, wav = tmp_path / "c.mp4", tmp_path / "a.wav"
    clip.write_bytes(b"x")
    wav.write_bytes(b"x")
    good = ShotMedia(shot_id="ok", clip_path=clip, audio_path=wav, duration=1.0)
    validate_shots([good])
    with pytest.raises(ComposeInputError):
        validate_shots([])
    for bad in (
        good.model_copy(update={"shot_id": "bad", "duration": 0.0}),
        good.model_copy(update={"shot_id": "bad", "duration": float("nan")}),
        good.model_copy(update={"shot_id": "bad", "clip_path": tmp_path / "missing.mp4"}),
        good.model_copy(update={"shot_id": "bad", "audio_path": tmp_path}),
    ):
        with pytest.raises(ComposeInputError) as caught:
            validate_shots([good, bad])
        assert caught.value.shot_id == "bad"


async def test_compose_refuses_before_touching_the_output(tmp_path: Path) -> None:
    out = tmp_path / "out"
    with pytest.raises(ComposeInputError):
        await compose_story(shots=[], out_dir=out, options=ComposeOptions())
    assert not out.exists()
