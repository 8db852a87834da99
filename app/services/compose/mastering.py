"""The film's sound: measure the sources, mix and duck, encode AAC at the target loudness.

Everything here is audio only (cheap next to the picture; the encode runs beside the picture's):
1. the narration and music are measured, so they are mixed at known levels (when there is a bed);
2. the mix is written as a float WAV and measured (loudness and true peak) as it is written;
3. the AAC track is encoded with the gain that brings the mix to the target loudness, through a
   true-peak limiter when plain gain would take the peaks past the ceiling;
4. the track is measured as decoded; should the limiter have cost loudness or the codec pushed the
   peaks over the ceiling, the gain or the ceiling is corrected and the track encoded again (rare).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from loguru import logger

from app.services.compose.audio_graph import (
    METER_FINAL,
    METER_MIX,
    METER_MUSIC,
    METER_NARRATION,
    NARRATION_REF_LUFS,
    MixInputs,
    aac_args,
    levels_args,
    meter_args,
    mix_args,
)
from app.services.compose.loudness import (
    Loudness,
    close_enough,
    fits_linearly,
    gain_to,
    limiter_ceiling,
    parse_summary,
)
from app.services.compose.models import ClipInfo, ComposeOptions, ShotMedia
from app.services.compose.plan import FilmPlan
from app.services.ffmpeg import run_ffmpeg

#: AAC encodes made at most before settling for the last one.
MAX_ENCODES = 4
#: Extra margin taken when the codec overshot the ceiling.
OVERSHOOT_MARGIN_DB = 0.1


@dataclass(frozen=True)
class Sound:
    """The film's AAC track and its loudness as decoded."""

    path: Path
    loudness: Loudness


def mix_inputs(shots: Sequence[ShotMedia], infos: Sequence[ClipInfo], options: ComposeOptions) -> MixInputs:
    """The files the mix reads: clips' sound only where there is some and it is kept."""
    keep = options.clip_audio
    return MixInputs(
        narrations=[shot.audio_path for shot in shots],
        clips=[shot.clip_path if keep and info.has_audio else None for shot, info in zip(shots, infos, strict=True)],
        music=options.music_path,
    )


@dataclass(frozen=True)
class Mix:
    """The film's sound mixed (a float WAV) and its loudness and true peak."""

    path: Path
    loudness: Loudness


async def mix_sound(
    shots: Sequence[ShotMedia], infos: Sequence[ClipInfo], plan: FilmPlan, options: ComposeOptions, work: Path
) -> Mix:
    """Measure the sources and mix the film's sound into `work`/mix.wav.

    This is the one audio step whose memory grows with the number of shots (it opens every
    narration and every clip with sound), so it runs before the picture's encode starts.
    """
    inputs = mix_inputs(shots, infos, options)
    narration_gain, music_gain = await _source_gains(inputs, plan, options)
    raw = work / "mix.wav"
    args = mix_args(inputs, plan.segments, raw, options, narration_gain_db=narration_gain, music_gain_db=music_gain)
    return Mix(raw, parse_summary(await _run(args, options), METER_MIX))


async def encode_sound(mix: Mix, plan: FilmPlan, options: ComposeOptions, work: Path) -> Sound:
    """Encode the mix to `work`/sound.m4a at the target loudness, under the true-peak ceiling."""
    target, peak_limit = options.loudness_lufs, options.true_peak_db
    gain = gain_to(target, mix.loudness)
    ceiling = None if fits_linearly(mix.loudness, gain, peak_limit) else limiter_ceiling(peak_limit)
    out = work / "sound.m4a"
    for _ in range(MAX_ENCODES):
        await _run(aac_args(mix.path, out, plan.samples, gain, ceiling), options)
        decoded = parse_summary(await _run(meter_args(out), options), METER_FINAL)
        loud_ok, peak_ok = close_enough(decoded, target), decoded.true_peak <= peak_limit
        if loud_ok and peak_ok:
            return Sound(out, decoded)
        if not peak_ok:
            start = ceiling if ceiling is not None else limiter_ceiling(peak_limit)
            ceiling = start - (decoded.true_peak - peak_limit) - OVERSHOOT_MARGIN_DB
        if not loud_ok:
            gain += target - decoded.integrated
    logger.warning("the film's sound is {:.1f} LUFS, {:.1f} dBTP (asked {:.1f}, {:.1f}): the ceiling allows no better",
                   decoded.integrated, decoded.true_peak, target, peak_limit)
    return Sound(out, decoded)


async def _source_gains(inputs: MixInputs, plan: FilmPlan, options: ComposeOptions) -> tuple[float, float]:
    """Gains that bring the narration to NARRATION_REF_LUFS and the music to its level under it."""
    if inputs.music is None and not any(clip is not None for clip in inputs.clips):
        return 0.0, 0.0  # nothing to balance or duck against
    log = await _run(levels_args(inputs, plan.duration), options)
    narration_gain = gain_to(NARRATION_REF_LUFS, parse_summary(log, METER_NARRATION))
    if inputs.music is None:
        return narration_gain, 0.0
    return narration_gain, gain_to(NARRATION_REF_LUFS + options.music_lu, parse_summary(log, METER_MUSIC))


async def _run(args: list[str], options: ComposeOptions) -> str:
    return await run_ffmpeg(args, timeout_s=options.timeout_s, loglevel="info")
