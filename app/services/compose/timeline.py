"""Pure timing of the film: where each shot sits (in whole frames) and when each subtitle cue shows."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from app.services.compose.models import ShotMedia
from app.services.compose.text import is_wide, split_cues, wrap_lines

#: Without a measured narration length, cues end this long before the shot does (at most a quarter).
DEFAULT_TAIL_S = 0.3
_PAUSE_WEIGHT = {**dict.fromkeys("。！？!?；;….", 2), **dict.fromkeys("，,、：:", 1)}


@dataclass(frozen=True)
class ShotSpan:
    """A shot's place on the film, in frames at `fps` (so audio and video cut at the same instants)."""

    shot_id: str
    first_frame: int
    frames: int
    fps: int

    @property
    def start(self) -> float:
        return self.first_frame / self.fps

    @property
    def end(self) -> float:
        return (self.first_frame + self.frames) / self.fps

    @property
    def duration(self) -> float:
        return self.frames / self.fps


@dataclass(frozen=True)
class Cue:
    """One subtitle: shown from `start` to `end` (seconds on the film), drawn as `lines`."""

    shot_id: str
    start: float
    end: float
    text: str
    lines: tuple[str, ...]


def shot_spans(shots: Sequence[ShotMedia], fps: int) -> list[ShotSpan]:
    """Lay the shots end to end; boundaries are rounded to frames without drift (each ≥ 1 frame)."""
    spans: list[ShotSpan] = []
    elapsed = 0.0
    frame = 0
    for shot in shots:
        elapsed += shot.duration
        end_frame = max(frame + 1, round(elapsed * fps))
        spans.append(ShotSpan(shot.shot_id, frame, end_frame - frame, fps))
        frame = end_frame
    return spans


def film_duration(spans: Sequence[ShotSpan]) -> float:
    """Length of the film in seconds."""
    return spans[-1].end if spans else 0.0


def build_cues(
    shots: Sequence[ShotMedia],
    spans: Sequence[ShotSpan],
    speech_durations: Sequence[float | None] | None = None,
    *,
    tail_s: float = DEFAULT_TAIL_S,
) -> list[Cue]:
    """All subtitle cues of the film, in order; `speech_durations` are the narration WAV lengths."""
    speech = list(speech_durations) if speech_durations is not None else [None] * len(shots)
    cues: list[Cue] = []
    for shot, span, spoken in zip(shots, spans, speech, strict=True):
        cues.extend(shot_cues(span, shot.narration, speech_s=spoken, tail_s=tail_s))
    return cues


def shot_cues(
    span: ShotSpan, narration: str, *, speech_s: float | None = None, tail_s: float = DEFAULT_TAIL_S
) -> list[Cue]:
    """One shot's cues, timed in proportion to their speech length across the spoken part of the shot."""
    chunks = split_cues(narration)
    if not chunks:
        return []
    start_ms = math.ceil(span.start * 1000 - 1e-6)
    stop_ms = start_ms + round(speech_span(span.duration, speech_s, tail_s) * 1000)
    stop_ms = min(stop_ms, math.floor(span.end * 1000 + 1e-6))
    weights = [speech_weight(chunk) for chunk in chunks]
    bounds = _split_proportionally(start_ms, stop_ms, weights)
    return [
        Cue(span.shot_id, bounds[i] / 1000, bounds[i + 1] / 1000, chunk, tuple(wrap_lines(chunk)))
        for i, chunk in enumerate(chunks)
    ]


def speech_span(duration: float, speech_s: float | None, tail_s: float = DEFAULT_TAIL_S) -> float:
    """How much of a shot the narration covers: its measured length, else the shot less a short tail."""
    if speech_s is not None and speech_s > 0:
        return min(speech_s, duration)
    return duration - min(tail_s, duration / 4)


def speech_weight(text: str) -> int:
    """Rough relative speaking time: a CJK character ≈ 3 Latin letters; punctuation adds a pause."""
    weight = 0
    for char in text:
        if char.isalnum():
            weight += 3 if is_wide(char) else 1
        else:
            weight += _PAUSE_WEIGHT.get(char, 0)
    return max(weight, 1)


def _split_proportionally(start: int, stop: int, weights: Sequence[int]) -> list[int]:
    total = sum(weights)
    bounds = [start]
    running = 0
    for weight in weights:
        running += weight
        bounds.append(start + round((stop - start) * running / total))
    return bounds
