"""The pure FFmpeg builders of composition (no FFmpeg runs here): picture, sound, subtitles, loudness."""

from __future__ import annotations

import math
import re
import struct
from pathlib import Path

import pytest

from app.services.compose.audio_graph import (
    METER_MIX,
    MixInputs,
    aac_args,
    duck_ratio,
    ducker,
    levels_args,
    limiter,
    meter_args,
    mix_args,
)
from app.services.compose.ffmpeg_args import (
    ass_filter,
    escape_graph,
    escape_option_value,
    file_arg,
    mux_args,
    seconds,
)
from app.services.compose.layout import subtitle_layout
from app.services.compose.loudness import (
    Loudness,
    close_enough,
    fits_linearly,
    gain_to,
    limiter_ceiling,
    parse_summary,
)
from app.services.compose.models import ClipInfo, ComposeOptions, ShotMedia
from app.services.compose.mp4info import Track, parse_moov, read_tracks
from app.services.compose.subtitles import (
    ass_escape,
    ass_timestamp,
    srt_timestamp,
    to_ass,
    to_srt,
    to_vtt,
    vtt_timestamp,
    write_srt,
)
from app.services.compose.timeline import Cue, segments, shot_spans, transition_frames
from app.services.compose.video_graph import (
    encoder_args,
    fit_chain,
    producer_args,
    producer_graph,
    slowdown,
)

AWKWARD = "/tmp/it's a: weird, [dir]; back\\slash/sub titles.ass"
PLAIN = ClipInfo(duration=10.0, has_audio=False)


def shot(i: int, duration: float) -> ShotMedia:
    return ShotMedia(shot_id=f"s{i}", clip_path=Path(f"/clips/{i}.mp4"), audio_path=Path(f"/tts/{i}.wav"),
                     duration=duration)  # fmt: skip


def film(options: ComposeOptions, durations=(2.0, 1.0, 3.0)):
    shots = [shot(i, d) for i, d in enumerate(durations)]
    spans = shot_spans(shots, options.fps)
    seconds_ = options.transition_s if options.transition != "cut" else 0
    return shots, segments(spans, transition_frames(spans, seconds_))


def pairs(args: list[str]) -> list[tuple[str, str]]:
    return list(zip(args, args[1:], strict=False))


def graph_of(args: list[str]) -> str:
    return args[args.index("-filter_complex") + 1]


# --- escaping -----------------------------------------------------------------------------------


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


@pytest.mark.parametrize("path", [AWKWARD, "/plain/subtitles.ass", "/x/a'b'c/d:e,f;g[h]\\i.ass"])
def test_ass_filter_escapes_paths_for_the_graph(path: str) -> None:
    spec = ass_filter(Path(path))
    name, rest = spec.split("=", 1)
    args, end = _get_token(rest, 0, "[],;")
    assert name == "ass" and end == len(rest), "the filter's arguments must not leak into the graph"
    key, _, value = args.partition("=")
    assert key == "filename" and _get_token(value, 0, ":")[0] == path


def test_escape_levels_and_paths() -> None:
    assert escape_option_value("a:b'c\\d,e") == "a\\:b\\'c\\\\d,e"
    assert escape_graph("a,b;c[d]e'f\\g") == "a\\,b\\;c\\[d\\]e\\'f\\\\g"
    assert file_arg(Path("rtmp:x.mp4")) == "file:rtmp:x.mp4" and file_arg(Path("/a/b.mp4")) == "/a/b.mp4"
    assert seconds(2.5) == "2.5" and seconds(1 / 3) == "0.333333" and seconds(0) == "0"


# --- picture ------------------------------------------------------------------------------------


@pytest.mark.parametrize("fps", [24, 25, 30])
def test_fit_chain_normalizes_any_clip_and_cuts_it_to_its_frames(fps: int) -> None:
    chain = fit_chain(PLAIN, 57, ComposeOptions(width=640, height=360, fps=fps))
    parts = chain.split(",")
    assert parts[0] == "setpts=PTS-STARTPTS" and parts[1] == f"fps={fps}"
    assert "scale=640:360:force_original_aspect_ratio=decrease:force_divisible_by=2" in parts
    assert "pad=640:360:(ow-iw)/2:(oh-ih)/2:color=black" in parts and "setsar=1" in parts
    assert "format=yuv420p" in parts and parts[-1] == "trim=end_frame=57"
    assert any(p.startswith("tpad=stop_mode=clone:stop_duration=") for p in parts)  # short clips hold


def test_crop_fit_fills_the_frame() -> None:
    chain = fit_chain(PLAIN, 10, ComposeOptions(width=720, height=1280, fit="crop"))
    assert "scale=720:1280:force_original_aspect_ratio=increase,crop=720:1280" in chain and ",pad=" not in chain


def test_short_clips_are_slowed_only_when_asked_and_at_most_max_slowdown() -> None:
    short = ClipInfo(duration=2.0)
    hold, slow = ComposeOptions(fps=25), ComposeOptions(fps=25, short_clip="slow", max_slowdown=1.5)
    assert slowdown(short, 100, hold) == 1.0
    assert slowdown(short, 55, slow) == pytest.approx(1.1)
    assert slowdown(short, 100, slow) == 1.5  # 4 s needed from 2 s: slowed 1.5×, then held
    assert slowdown(ClipInfo(duration=None), 100, slow) == 1.0 and slowdown(short, 25, slow) == 1.0
    assert fit_chain(short, 55, slow).startswith("setpts=(PTS-STARTPTS)*1.100000,fps=25")


def test_a_cut_producer_writes_its_shots_frames_as_raw_video() -> None:
    options = ComposeOptions(width=320, height=180, fps=25)
    shots, segs = film(options)
    args = producer_args(segs, 1, [s.clip_path for s in shots], [PLAIN] * 3, options)
    assert [b for a, b in pairs(args) if a == "-i"] == ["/clips/1.mp4"]
    assert ("-t", "2") in pairs(args)  # 1 s of shot + 1 s slack: the rest of the clip is never read
    for pair in [("-f", "rawvideo"), ("-pix_fmt", "yuv420p"), ("-map", "[v]"), ("-fps_mode", "passthrough")]:
        assert pair in pairs(args)
    assert "-an" in args and args[-1] == "pipe:1"
    assert graph_of(args).endswith("trim=end_frame=25,trim=start_frame=0,setpts=PTS-STARTPTS[v]")


@pytest.mark.parametrize(("kind", "xfade"), [("crossfade", "fade"), ("fadeblack", "fadeblack")])
def test_a_transition_producer_blends_into_the_next_clips_first_frames(kind: str, xfade: str) -> None:
    options = ComposeOptions(width=320, height=180, fps=25, transition=kind, transition_s=0.4)
    shots, segs = film(options)
    assert [s.blend for s in segs] == [10, 10, 0]
    args = producer_args(segs, 1, [s.clip_path for s in shots], [PLAIN] * 3, options)
    assert [b for a, b in pairs(args) if a == "-i"] == ["/clips/1.mp4", "/clips/2.mp4"]
    graph = graph_of(args)
    own, incoming, blend = graph.split(";")
    seg = segs[1]
    assert own.startswith("[0:v]") and f"trim=end_frame={seg.length},trim=start_frame=10," in own
    assert incoming.startswith("[1:v]") and f"trim=end_frame={segs[2].length},trim=end_frame=10," in incoming
    offset = (seg.out_frames - 10) / 25
    assert blend == f"[a][b]xfade=transition={xfade}:duration=0.4:offset={seconds(offset)}[v]"


def test_the_last_producer_has_no_outgoing_transition() -> None:
    options = ComposeOptions(transition="crossfade")
    _, segs = film(options)
    graph = producer_graph(segs[2], None, [PLAIN] * 3, options)
    assert "xfade" not in graph and graph.endswith("[v]")


def test_the_encoder_reads_raw_frames_burns_ass_encodes_h264_and_grabs_the_cover() -> None:
    options = ComposeOptions(width=640, height=360, fps=30, crf=20, preset="fast")
    args = encoder_args(Path("/w/picture.mp4"), options, ass_path=Path(AWKWARD), cover=(Path("/out/c.jpg"), 37))
    for pair in [("-f", "rawvideo"), ("-s", "640x360"), ("-framerate", "30"), ("-i", "pipe:0"),
                 ("-c:v", "libx264"), ("-pix_fmt", "yuv420p"), ("-crf", "20"), ("-preset", "fast"), ("-r", "30"),
                 ("-map", "[vout]"), ("-map", "[cover]"), ("-frames:v", "1")]:  # fmt: skip
        assert pair in pairs(args)
    assert "-an" in args and "/w/picture.mp4" in args and args[-1] == "/out/c.jpg"
    split, still, burn = graph_of(args).split(";", 2)
    assert split == "[0:v]split=2[picture][still]"
    assert still == "[still]select=eq(n\\,37),setpts=PTS-STARTPTS[cover]"  # the cover has no subtitles
    assert burn.startswith("[picture]ass=") and burn.endswith("[vout]")
    plain = encoder_args(Path("/w/picture.mp4"), options)
    assert graph_of(plain) == "[0:v]null[vout]" and args.index("-c:v") < args.index("/w/picture.mp4")


def test_picture_and_sound_are_muxed_without_reencoding_moov_first() -> None:
    args = mux_args(Path("/w/picture.mp4"), Path("/w/sound.m4a"), Path("/out/v.mp4"))
    for pair in [("-i", "/w/picture.mp4"), ("-i", "/w/sound.m4a"), ("-map", "0:v"), ("-map", "1:a"), ("-c", "copy"),
                 ("-movflags", "+faststart"), ("-f", "mp4")]:  # fmt: skip
        assert pair in pairs(args)
    assert args[-1] == "/out/v.mp4"


def test_the_sound_is_encoded_once_as_aac_with_its_gain_and_limiter_and_measured_as_decoded() -> None:
    args = aac_args(Path("/w/mix.wav"), Path("/w/sound.m4a"), 96_000, -2.5, None)
    for pair in [("-af", "volume=-2.500dB"), ("-c:a", "aac"), ("-ar", "48000"), ("-ac", "2"), ("-f", "mp4")]:
        assert pair in pairs(args)
    assert int(args[args.index("-b:a") + 1].rstrip("k")) >= 128 and args[-1] == "/w/sound.m4a"
    limited = aac_args(Path("/w/mix.wav"), Path("/w/sound.m4a"), 96_000, 4.5, -2.0)
    assert ("-af", f"volume=4.500dB,{limiter(-2.0, 96_000)}") in pairs(limited)
    meter = meter_args(Path("/w/sound.m4a"))
    assert ("-af", "ebur128@final=peak=true:framelog=verbose") in pairs(meter) and meter[-3:] == ["-f", "null", "-"]


# --- sound --------------------------------------------------------------------------------------


def inputs(clips=(None, None, None), music: Path | None = None) -> MixInputs:
    return MixInputs(narrations=[Path(f"/tts/{i}.wav") for i in range(3)], clips=list(clips), music=music)


def test_narration_only_mix_lays_each_narration_on_its_shot_and_meters_it() -> None:
    options = ComposeOptions(fps=25)
    _, segs = film(options)
    args = mix_args(inputs(), segs, Path("/w/mix.wav"), options, narration_gain_db=2.0)
    graph = graph_of(args)
    for i, samples in enumerate([96_000, 48_000, 144_000]):
        assert f"[{i}:a]asetpts=PTS-STARTPTS,aresample=48000," in graph
        assert f"apad=whole_len={samples},atrim=end_sample={samples}" in graph
    assert "concat=n=3:v=0:a=1,volume=2.000dB[narr]" in graph
    assert "[narr]anull[mix]" in graph and "sidechaincompress" not in graph
    assert f"ebur128@{METER_MIX}=peak=true" in graph
    assert ("-c:a", "pcm_f32le") in pairs(args) and args[-1] == "/w/mix.wav"


def test_music_is_looped_faded_and_ducked_under_the_narration() -> None:
    options = ComposeOptions(fps=25, music_fade_s=1.0, music_duck_db=12)
    _, segs = film(options)
    args = mix_args(inputs(music=Path("/m/song.mp3")), segs, Path("/w/mix.wav"), options, music_gain_db=-7.5)
    assert args[args.index("/m/song.mp3") - 3 : args.index("/m/song.mp3")] == ["-stream_loop", "-1", "-i"]
    graph = graph_of(args)
    music = next(c for c in graph.split(";") if c.endswith("[music]"))
    assert music.startswith("[3:a]") and "volume=-7.500dB,atrim=end_sample=288000" in music
    assert "afade=t=in:d=1" in music and "afade=t=out:st=5:d=1" in music
    assert "[narr]asplit=2[voice][key]" in graph
    assert f"[music][key]{ducker(options)}[ducked]" in graph
    assert "[voice][ducked]amix=inputs=2:normalize=0:duration=first[mix]" in graph


def test_clip_sound_follows_the_picture_through_transitions() -> None:
    options = ComposeOptions(fps=25, transition="crossfade", transition_s=0.4, clip_audio_db=-9)
    _, segs = film(options)
    clips = (Path("/clips/0.mp4"), None, Path("/clips/2.mp4"))
    graph = graph_of(mix_args(inputs(clips), segs, Path("/w/mix.wav"), options))
    chains = graph.split(";")
    bed = [c for c in chains if re.search(r"\[c\d\]$", c)]
    assert bed[0].startswith("[3:a]") and bed[1].startswith("anullsrc=r=48000:cl=stereo,")
    assert bed[2].startswith("[4:a]") and all("volume=-9.000dB" in c for c in bed)
    for seg, chain in zip(segs, bed, strict=True):  # each clip's sound lasts as long as its picture
        assert f"apad=whole_len={seg.length * 1920}," in chain
    assert "[c0][c1]acrossfade=ns=19200:c1=tri:c2=tri[j1]" in chains  # the 10 blended frames
    assert "[j1][c2]acrossfade=ns=19200:c1=tri:c2=tri[j2]" in chains
    assert "[clips][key]sidechaincompress" in graph


def test_cuts_join_clip_sound_end_to_end() -> None:
    options = ComposeOptions(fps=25)
    _, segs = film(options)
    graph = graph_of(mix_args(inputs((Path("/c/0.mp4"),) * 3), segs, Path("/w/mix.wav"), options))
    assert "[c0][c1]concat=n=2:v=0:a=1[j1]" in graph and "acrossfade" not in graph


def test_music_and_clip_sound_are_mixed_into_one_ducked_bed() -> None:
    options = ComposeOptions(fps=25)
    _, segs = film(options)
    graph = graph_of(mix_args(inputs((Path("/c/0.mp4"), None, None), Path("/m.mp3")), segs, Path("/w/m.wav"), options))
    assert "[clips][music]amix=inputs=2:normalize=0:duration=longest[bed]" in graph
    assert "[bed][key]sidechaincompress" in graph


def test_duck_ratio_gives_the_asked_reduction_for_speech_at_the_reference_level() -> None:
    assert duck_ratio(0) == 1.0
    assert duck_ratio(12) == pytest.approx(4.0)  # 16 dB over threshold × (1 − 1/4) = 12 dB
    assert duck_ratio(30) == 20.0
    assert "threshold=0.01585:ratio=4.000" in ducker(ComposeOptions(music_duck_db=12))


def test_levels_measure_narration_and_music_separately() -> None:
    args = levels_args(inputs(music=Path("/m/song.mp3")), 12.5)
    graph = graph_of(args)
    assert "concat=n=3:v=0:a=1,ebur128@narration=peak=none" in graph  # loudness only: no oversampling
    assert "[3:a]aresample=48000" in graph and "ebur128@music=peak=none" in graph
    assert args[args.index("/m/song.mp3") - 3 : args.index("/m/song.mp3")] == ["-t", "12.5", "-i"]
    assert args.count("null") == 2


def test_the_limiter_runs_oversampled_without_delay_and_keeps_the_length() -> None:
    chain = limiter(-2.0, 96_000)
    assert chain.startswith("aresample=192000,alimiter=limit=0.79433:")
    assert chain.endswith("level=0:latency=1,aresample=48000,apad=whole_len=96000,atrim=end_sample=96000")


# --- loudness -----------------------------------------------------------------------------------

LOG = """[Parsed_aresample_0 @ 0x1] ch:2
[ebur128@mix @ 0x55b14050d380] Summary:

  Integrated loudness:
    I:         -21.3 LUFS
    Threshold: -31.4 LUFS

  Loudness range:
    LRA:         6.2 LU

  True peak:
    Peak:       -3.7 dBFS
[ebur128@quiet @ 0x55b14050d390] Summary:

  Integrated loudness:
    I:         -70.0 LUFS
    Threshold: -70.0 LUFS

  True peak:
    Peak:       -inf dBFS
size=N/A time=00:00:20.00"""


def test_loudness_summaries_are_read_by_meter_name() -> None:
    assert parse_summary(LOG, "mix") == Loudness(-21.3, -3.7)
    assert math.isnan(parse_summary(LOG.replace("True peak", "No peak"), "mix").true_peak)
    quiet = parse_summary(LOG, "quiet")
    assert quiet.silent and quiet.true_peak == float("-inf")
    with pytest.raises(ValueError):
        parse_summary(LOG, "missing")


def test_gain_limits_and_tolerance() -> None:
    measured = Loudness(-21.3, -3.7)
    assert gain_to(-16, measured) == pytest.approx(5.3)
    assert gain_to(-16, Loudness(-70.0, float("-inf"))) == 0.0
    assert gain_to(-16, Loudness(-60.0, -40.0)) == 30.0
    assert limiter_ceiling(-1.5) == -2.0
    assert not fits_linearly(measured, 5.3, -1.5)  # peaks would reach +1.6 dBTP: limit
    assert fits_linearly(Loudness(-21.3, -9.0), 5.3, -1.5)  # -3.7 dBTP after gain: plain gain is enough
    assert close_enough(Loudness(-16.3, -2.0), -16) and not close_enough(Loudness(-16.6, -2.0), -16)


# --- subtitle files -----------------------------------------------------------------------------

CUES = [
    Cue("a", 0.0, 1.25, "第一句。", ("第一句。",)),
    Cue("b", 1.25, 61.5, "two lines <here> & {there}", ("two lines <here>", "& {there}")),
]


def test_timestamps() -> None:
    assert srt_timestamp(0) == "00:00:00,000" and srt_timestamp(3723.4567) == "01:02:03,457"
    assert srt_timestamp(-0.2) == "00:00:00,000"
    assert vtt_timestamp(61.5) == "00:01:01.500"
    assert ass_timestamp(3723.456) == "1:02:03.46" and ass_timestamp(0.004) == "0:00:00.00"


def test_srt_blocks_are_numbered_from_one_with_lines(tmp_path: Path) -> None:
    srt = to_srt(CUES)
    assert srt == ("1\n00:00:00,000 --> 00:00:01,250\n第一句。\n\n"
                   "2\n00:00:01,250 --> 00:01:01,500\ntwo lines <here>\n& {there}\n")  # fmt: skip
    assert write_srt(CUES, tmp_path / "x.srt").read_bytes() == srt.encode("utf-8")
    assert to_srt([]) == ""


def test_vtt_has_a_header_and_escapes_markup() -> None:
    assert to_vtt(CUES) == ("WEBVTT\n\n00:00:00.000 --> 00:00:01.250\n第一句。\n\n"
                            "00:00:01.250 --> 00:01:01.500\ntwo lines &lt;here&gt;\n&amp; {there}\n")  # fmt: skip
    assert to_vtt([]) == "WEBVTT\n"


def test_ass_draws_on_a_frame_sized_canvas_with_the_layout_and_explicit_breaks() -> None:
    layout = subtitle_layout(720, 1280)
    ass = to_ass(CUES, layout, "Noto Sans CJK SC")
    assert "PlayResX: 720\nPlayResY: 1280\nWrapStyle: 2\n" in ass
    style = next(line for line in ass.splitlines() if line.startswith("Style: "))
    fields = style.removeprefix("Style: ").split(",")
    assert fields[:3] == ["Default", "Noto Sans CJK SC", str(layout.font_size)]
    assert fields[-5:] == ["2", str(layout.margin_lr), str(layout.margin_lr), str(layout.margin_bottom), "1"]
    events = [line for line in ass.splitlines() if line.startswith("Dialogue: ")]
    assert events[0] == "Dialogue: 0,0:00:00.00,0:00:01.25,Default,,0,0,0,,第一句。"
    assert events[1].endswith(",,two lines <here>\\N& \\{there\\}")


def test_ass_text_cannot_inject_override_tags_or_breaks() -> None:
    assert ass_escape("{\\b1}bold\\Nbreak") == "\\{\\\u2060b1\\}bold\\\u2060Nbreak"


# --- MP4 headers --------------------------------------------------------------------------------


def box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I4s", 8 + len(payload), kind) + payload


def trak(handler: bytes, timescale: int, duration: int, version: int = 0) -> bytes:
    if version:
        mdhd = bytes([1, 0, 0, 0]) + bytes(16) + struct.pack(">IQ", timescale, duration) + bytes(4)
    else:
        mdhd = bytes(4) + bytes(8) + struct.pack(">II", timescale, duration) + bytes(4)
    hdlr = bytes(8) + handler + bytes(12) + b"name\x00"
    return box(b"trak", box(b"tkhd", bytes(84)) + box(b"mdia", box(b"mdhd", mdhd) + box(b"hdlr", hdlr)))


def test_mp4_tracks_are_read_from_the_moov_box_wherever_it_is(tmp_path: Path) -> None:
    moov = box(b"moov", box(b"mvhd", bytes(100)) + trak(b"vide", 12800, 64000) + trak(b"soun", 48000, 96000, 1))
    expected = [Track("vide", 5.0), Track("soun", 2.0)]
    for name, layout in [("start", box(b"ftyp", b"isom") + moov + box(b"mdat", bytes(5000))),
                         ("end", box(b"ftyp", b"isom") + box(b"mdat", bytes(5000)) + moov)]:  # fmt: skip
        path = tmp_path / f"{name}.mp4"
        path.write_bytes(layout)
        assert read_tracks(path) == expected


def test_files_that_are_not_plain_mp4_are_left_to_ffprobe(tmp_path: Path) -> None:
    (tmp_path / "a.wav").write_bytes(b"RIFF\x24\x00\x00\x00WAVEfmt ")
    (tmp_path / "cut.mp4").write_bytes(box(b"ftyp", b"isom") + struct.pack(">I4s", 500, b"moov") + bytes(20))
    assert read_tracks(tmp_path / "a.wav") is None
    assert read_tracks(tmp_path / "cut.mp4") is None
    assert read_tracks(tmp_path / "missing.mp4") is None
    assert parse_moov(trak(b"vide", 0, 10)) == [Track("vide", None)]  # no timescale: length unknown
