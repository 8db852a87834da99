"""Pure loudness arithmetic: read FFmpeg's EBU R128 summaries and decide the gains to apply."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

#: ebur128 reports this for silence (everything below its absolute gate).
SILENCE_LUFS = -70.0
#: Gains are kept within this range, so a near-silent input is not blown up.
MAX_GAIN_DB = 30.0
#: Headroom kept under the true-peak ceiling for the AAC encode, which can add a few tenths of a dB.
CODEC_HEADROOM_DB = 0.5
#: A mastered mix this close to the target is accepted.
TOLERANCE_LU = 0.4

_SUMMARY = r"\[ebur128@{name} @ [^\]]*\] Summary:(?P<body>.*?)(?=\n\[|\Z)"
_INTEGRATED = re.compile(r"^\s*I:\s*(-?[\d.]+|-inf) LUFS", re.M)
_PEAK = re.compile(r"True peak:\s*\n\s*Peak:\s*(-?[\d.]+|-inf) dBFS")


@dataclass(frozen=True)
class Loudness:
    """Integrated loudness (LUFS) and true peak (dBTP; NaN when it was not measured) of a signal."""

    integrated: float
    true_peak: float

    @property
    def silent(self) -> bool:
        return self.integrated <= SILENCE_LUFS + 1


def parse_summary(log: str, name: str) -> Loudness:
    """The summary of the ebur128 filter instance `name` in an FFmpeg log (the last one if repeated)."""
    matches = list(re.finditer(_SUMMARY.format(name=re.escape(name)), log, re.S))
    if not matches:
        raise ValueError(f"no loudness summary for {name!r} in the FFmpeg log")
    body = matches[-1].group("body")
    integrated, peak = _INTEGRATED.search(body), _PEAK.search(body)
    if integrated is None:
        raise ValueError(f"incomplete loudness summary for {name!r}")
    return Loudness(_number(integrated.group(1)), _number(peak.group(1)) if peak else math.nan)


def gain_to(target_lufs: float, measured: Loudness) -> float:
    """dB that bring `measured` to `target_lufs` (0 for silence), within ±MAX_GAIN_DB."""
    if measured.silent:
        return 0.0
    return max(-MAX_GAIN_DB, min(MAX_GAIN_DB, target_lufs - measured.integrated))


def limiter_ceiling(true_peak_db: float) -> float:
    """Ceiling for the limiter: the true-peak limit less the codec headroom."""
    return true_peak_db - CODEC_HEADROOM_DB


def fits_linearly(measured: Loudness, gain_db: float, true_peak_db: float) -> bool:
    """True when plain gain reaches the target without the peaks passing the limiter's ceiling."""
    return measured.true_peak + gain_db <= limiter_ceiling(true_peak_db)


def close_enough(measured: Loudness, target_lufs: float) -> bool:
    """True when a mastered mix is within TOLERANCE_LU of the target (or silent: nothing to do)."""
    return measured.silent or abs(measured.integrated - target_lufs) <= TOLERANCE_LU


def _number(text: str) -> float:
    return float("-inf") if text == "-inf" else float(text)
