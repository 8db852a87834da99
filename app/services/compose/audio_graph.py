"""Pure builders of the film's sound, made beside the picture (cheap, audio only).

1. `levels_args` measures the narration (and the music) so both can be set to known levels.
2. `mix_args` lays each narration on its shot, lays the clips' own sound under it (following the
   picture through transitions), loops the music to length with fades, ducks music and clip sound
   under the narration with a sidechain compressor keyed by the narration, and measures the mix
   (a 48 kHz float WAV).
3. `aac_args` encodes the film's AAC track once: the gain that brings the mix to the target
   loudness and, when the peaks need it, a true-peak limiter (run at 192 kHz, i.e. 4× oversampled).
4. `meter_args` measures the AAC track as decoded, since the codec can add a few tenths of a dB
   to the peaks.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from app.services.compose.ffmpeg_args import (
    AUDIO_RATE,
    INPUT_SLACK_S,
    aac_codec_args,
    audio_format,
    file_arg,
    fit_samples,
    seconds,
)
from app.services.compose.models import ComposeOptions
from app.services.compose.timeline import Segment, ShotSpan, film_frames, frame_sample

#: Level the narration is brought to before mixing, so music and ducking sit at known levels.
NARRATION_REF_LUFS = -20.0
#: Sidechain threshold below the narration's reference level (dB): speech is well above it.
DUCK_HEADROOM_DB = 16.0
DUCK_ATTACK_MS = 20
DUCK_RELEASE_MS = 400
OVERSAMPLED_RATE = AUDIO_RATE * 4
LIMITER_ATTACK_MS = 5
LIMITER_RELEASE_MS = 50
#: ebur128 instance names, to find each summary in FFmpeg's log.
METER_NARRATION = "narration"
METER_MUSIC = "music"
METER_MIX = "mix"
METER_FINAL = "final"


@dataclass(frozen=True)
class MixInputs:
    """The files the mix reads: narrations per shot, clips whose sound is kept (or None), music."""

    narrations: Sequence[Path]
    clips: Sequence[Path | None]
    music: Path | None = None


def meter(name: str, *, true_peak: bool = True) -> str:
    """An EBU R128 meter named `name` (integrated loudness, and true peak: 4× oversampled, dearer),
    logging only its summary."""
    return f"ebur128@{name}=peak={'true' if true_peak else 'none'}:framelog=verbose"


def duck_ratio(duck_db: float) -> float:
    """Compressor ratio that lowers a bed by about `duck_db` while the key is DUCK_HEADROOM_DB above threshold."""
    if duck_db <= 0:
        return 1.0
    return min(20.0, DUCK_HEADROOM_DB / max(DUCK_HEADROOM_DB - duck_db, 0.8))


def ducker(options: ComposeOptions) -> str:
    """`sidechaincompress` keyed by the narration (at NARRATION_REF_LUFS) that ducks the bed."""
    threshold = 10 ** ((NARRATION_REF_LUFS - DUCK_HEADROOM_DB) / 20)
    return (
        f"sidechaincompress=threshold={threshold:.5f}:ratio={duck_ratio(options.music_duck_db):.3f}"
        f":attack={DUCK_ATTACK_MS}:release={DUCK_RELEASE_MS}:detection=rms:link=maximum"
    )


def levels_args(inputs: MixInputs, film_s: float) -> list[str]:
    """Measure the narration (all shots, back to back) and the music (as much as the film uses)."""
    args: list[str] = []
    for path in inputs.narrations:
        args += ["-i", file_arg(path)]
    n = len(inputs.narrations)
    labels = "".join(f"[n{i}]" for i in range(n))
    chains = [f"[{i}:a]{audio_format()}[n{i}]" for i in range(n)]
    chains.append(f"{labels}concat=n={n}:v=0:a=1,{meter(METER_NARRATION, true_peak=False)}[narration]")
    outputs = ["-map", "[narration]", "-f", "null", "-"]
    if inputs.music is not None:
        args += ["-t", seconds(film_s), "-i", file_arg(inputs.music)]
        chains.append(f"[{n}:a]{audio_format()},{meter(METER_MUSIC, true_peak=False)}[music]")
        outputs += ["-map", "[music]", "-f", "null", "-"]
    return [*args, "-filter_complex", ";".join(chains), *outputs]


def narration_chains(spans: Sequence[ShotSpan], gain_db: float) -> list[str]:
    """Each narration fitted to its shot's samples, then all joined into `[narr]`."""
    chains = []
    for i, span in enumerate(spans):
        samples = frame_sample(span.first_frame + span.frames, span.fps, AUDIO_RATE) - frame_sample(
            span.first_frame, span.fps, AUDIO_RATE
        )
        chains.append(f"[{i}:a]{fit_samples(samples)}[n{i}]")
    labels = "".join(f"[n{i}]" for i in range(len(spans)))
    chains.append(f"{labels}concat=n={len(spans)}:v=0:a=1,volume={gain_db:.3f}dB[narr]")
    return chains


def clip_bed_chains(segments: Sequence[Segment], sources: Sequence[int | None], options: ComposeOptions) -> list[str]:
    """The clips' own sound (silence where a clip has none), joined like the picture into `[clips]`.

    `sources` gives each shot's input index, or None for a silent clip. Transitions crossfade the
    sound over exactly the frames the picture blends, so the bed is as long as the film.
    """
    fps = segments[0].span.fps
    chains, previous = [], ""
    for seg, source in zip(segments, sources, strict=True):
        start = frame_sample(seg.clip_start_frame, fps, AUDIO_RATE)
        samples = frame_sample(seg.clip_start_frame + seg.length, fps, AUDIO_RATE) - start
        head = f"[{source}:a]" if source is not None else f"anullsrc=r={AUDIO_RATE}:cl=stereo,"
        chains.append(f"{head}{fit_samples(samples)},volume={options.clip_audio_db:.3f}dB[c{seg.index}]")
        if seg.index == 0:
            previous = "[c0]"
            continue
        joined = f"[j{seg.index}]"
        overlap = _overlap_samples(segments[seg.index - 1], seg, fps)
        join = f"acrossfade=ns={overlap}:c1=tri:c2=tri" if overlap else "concat=n=2:v=0:a=1"
        chains.append(f"{previous}[c{seg.index}]{join}{joined}")
        previous = joined
    chains.append(f"{previous}anull[clips]")
    return chains


def music_chain(source: int, total_samples: int, gain_db: float, options: ComposeOptions) -> str:
    """The music (its input looped by `-stream_loop`), at its level, cut to the film, faded in and out."""
    total_s = total_samples / AUDIO_RATE
    fade = min(options.music_fade_s, total_s / 4)
    fades = ""
    if fade > 0:
        fades = f",afade=t=in:d={seconds(fade)},afade=t=out:st={seconds(total_s - fade)}:d={seconds(fade)}"
    return (
        f"[{source}:a]{audio_format()},volume={gain_db:.3f}dB,atrim=end_sample={total_samples},"
        f"asetpts=N/SR/TB{fades}[music]"
    )


def mix_args(
    inputs: MixInputs,
    segments: Sequence[Segment],
    out_path: Path,
    options: ComposeOptions,
    *,
    narration_gain_db: float = 0.0,
    music_gain_db: float = 0.0,
) -> list[str]:
    """The whole mix, measured, written to `out_path` as a 48 kHz stereo float WAV of the film's length.

    Inputs: narration i at i; then the kept clips' sound; then the music, looped.
    """
    spans = [seg.span for seg in segments]
    total = frame_sample(film_frames(spans), spans[0].fps, AUDIO_RATE)
    args = [arg for path in inputs.narrations for arg in ("-i", file_arg(path))]
    count = len(inputs.narrations)
    chains = narration_chains(spans, narration_gain_db)
    beds = []
    if any(clip is not None for clip in inputs.clips):
        sources: list[int | None] = []
        for clip, seg in zip(inputs.clips, segments, strict=True):
            sources.append(None if clip is None else count)
            if clip is not None:
                args += ["-t", seconds(seg.length / seg.span.fps + INPUT_SLACK_S), "-i", file_arg(clip)]
                count += 1
        chains += clip_bed_chains(segments, sources, options)
        beds.append("[clips]")
    if inputs.music is not None:
        chains.append(music_chain(count, total, music_gain_db, options))
        args += ["-stream_loop", "-1", "-i", file_arg(inputs.music)]
        beds.append("[music]")
    chains += _duck_and_mix(beds, options)
    chains.append(f"[mix]apad=whole_len={total},atrim=end_sample={total},{meter(METER_MIX)}[out]")
    return [*args, "-filter_complex", ";".join(chains), "-map", "[out]", *_wav(out_path)]


def limiter(ceiling_db: float, total_samples: int) -> str:
    """A true-peak limiter: `alimiter` at 4× the rate (so peaks between samples count), delay-free,
    back to 48 kHz and exactly `total_samples` long."""
    limit = 10 ** (ceiling_db / 20)
    return ",".join(
        [
            f"aresample={OVERSAMPLED_RATE}",
            f"alimiter=limit={limit:.5f}:attack={LIMITER_ATTACK_MS}:release={LIMITER_RELEASE_MS}:level=0:latency=1",
            f"aresample={AUDIO_RATE}",
            f"apad=whole_len={total_samples}",
            f"atrim=end_sample={total_samples}",
        ]
    )


def aac_args(mix_path: Path, out_path: Path, total_samples: int, gain_db: float, ceiling_db: float | None) -> list[str]:
    """Encode the film's AAC track (in an M4A): the mix times `gain_db`, limited at `ceiling_db` if given."""
    chain = f"volume={gain_db:.3f}dB" + (f",{limiter(ceiling_db, total_samples)}" if ceiling_db is not None else "")
    return ["-i", file_arg(mix_path), "-map", "0:a", "-af", chain, *aac_codec_args(), "-f", "mp4", file_arg(out_path)]


def meter_args(path: Path) -> list[str]:
    """Measure the sound of `path` as a player decodes it (integrated loudness and true peak)."""
    return ["-i", file_arg(path), "-map", "0:a", "-af", meter(METER_FINAL), "-f", "null", "-"]


def _duck_and_mix(beds: list[str], options: ComposeOptions) -> list[str]:
    """Mix the beds, duck them under the narration, and add the narration: `[mix]`."""
    if not beds:
        return ["[narr]anull[mix]"]
    bed = beds[0]
    chains = []
    if len(beds) > 1:
        chains.append(f"{''.join(beds)}amix=inputs={len(beds)}:normalize=0:duration=longest[bed]")
        bed = "[bed]"
    chains += [
        "[narr]asplit=2[voice][key]",
        f"{bed}[key]{ducker(options)}[ducked]",
        "[voice][ducked]amix=inputs=2:normalize=0:duration=first[mix]",
    ]
    return chains


def _overlap_samples(before: Segment, after: Segment, fps: int) -> int:
    """Samples the sound of two neighbouring clips overlaps: exactly the picture's blend."""
    end_before = frame_sample(before.clip_start_frame + before.length, fps, AUDIO_RATE)
    return end_before - frame_sample(after.clip_start_frame, fps, AUDIO_RATE)


def _wav(path: Path) -> list[str]:
    return ["-c:a", "pcm_f32le", "-f", "wav", file_arg(path)]
