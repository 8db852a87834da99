"""Pure timing of the film: where each shot sits (in whole frames), how transitions overlap the
clips, and when each subtitle cue shows.

A transition is centred on the boundary between two shots: the outgoing clip runs on for half of
it and the incoming clip starts half of it early, so the film is exactly as long as the shots laid
end to end, whatever the transitions. Narration and subtitles keep to their shots' spans.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from app.services.compose.models import ShotMedia
from app.services.compose.text import Measure, is_wide, split_cues, width, wrap_lines

#: Without a measured narration length, cues end this long before the shot does (at most a quarter).
DEFAULT_TAIL_S = 0.3
#: Transitions shorter than this many frames are plain cuts.
MIN_TRANSITION_FRAMES = 2
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
class Segment:
    """How shot `index`'s clip is used: fitted to `length` frames, the first `lead` of them shown
    before its span starts (under the incoming transition) and the last `tail` after it ends.

    The shot's producer writes clip frames [`skip`, `length`): `skip` frames (the incoming
    transition) were written by the previous producer, and the last `blend` frames are mixed with
    the next clip's first `blend` frames (the outgoing transition; 0 for a cut or the last shot).
    """

    index: int
    span: ShotSpan
    lead: int
    tail: int
    skip: int
    blend: int

    @property
    def length(self) -> int:
        return self.lead + self.span.frames + self.tail

    @property
    def out_frames(self) -> int:
        """Frames this shot's producer writes to the film."""
        return self.length - self.skip

    @property
    def clip_start_frame(self) -> int:
        """Film frame at which the clip's first frame is shown."""
        return self.span.first_frame - self.lead


@dataclass(frozen=True)
class Cue:
    """One subtitle: shown from `start` to `end` (seconds on the film), drawn as `lines`."""

    shot_id: str
    start: float
    end: float
    text: str
    lines: tuple[str, ...]


def shot_spans(
    shots: Sequence[ShotMedia], fps: int, speech_durations: Sequence[float | None] | None = None
) -> list[ShotSpan]:
    """Lay the shots end to end; boundaries are rounded to frames without drift (each ≥ 1 frame).

    A shot whose narration (`speech_durations`) is longer than its planned duration is lengthened
    to hold it, so speech is never cut mid-word.
    """
    speech = list(speech_durations) if speech_durations is not None else [None] * len(shots)
    spans: list[ShotSpan] = []
    elapsed = 0.0
    frame = 0
    for shot, spoken in zip(shots, speech, strict=True):
        elapsed += max(shot.duration, spoken or 0.0)
        end_frame = max(frame + 1, round(elapsed * fps))
        if spoken:
            end_frame = max(end_frame, frame + math.ceil(spoken * fps - 1e-6))
            elapsed = max(elapsed, end_frame / fps)
        spans.append(ShotSpan(shot.shot_id, frame, end_frame - frame, fps))
        frame = end_frame
    return spans


def film_duration(spans: Sequence[ShotSpan]) -> float:
    """Length of the film in seconds."""
    return spans[-1].end if spans else 0.0


def film_frames(spans: Sequence[ShotSpan]) -> int:
    """Length of the film in frames."""
    return spans[-1].first_frame + spans[-1].frames if spans else 0


def transition_frames(spans: Sequence[ShotSpan], seconds: float) -> list[int]:
    """Frames of each transition between neighbouring shots (one fewer than the shots).

    Each is at most half of either neighbour, so transitions never overlap one another and every
    shot's midpoint shows that shot alone; below MIN_TRANSITION_FRAMES it is a cut (0).
    """
    result = []
    for before, after in zip(spans, spans[1:], strict=False):
        frames = min(round(seconds * before.fps), before.frames // 2, after.frames // 2)
        result.append(frames if frames >= MIN_TRANSITION_FRAMES else 0)
    return result


def segments(spans: Sequence[ShotSpan], transitions: Sequence[int]) -> list[Segment]:
    """Each shot's clip use, given the transition frames at each boundary (see Segment)."""
    if len(transitions) != max(len(spans) - 1, 0):
        raise ValueError("need one transition per boundary")
    outgoing = [*transitions, 0]
    incoming = [0, *transitions]
    return [
        Segment(
            index=i,
            span=span,
            lead=incoming[i] // 2,
            tail=outgoing[i] - outgoing[i] // 2,
            skip=incoming[i],
            blend=outgoing[i],
        )
        for i, span in enumerate(spans)
    ]


def frame_sample(frame: int, fps: int, rate: int) -> int:
    """The audio sample at which film frame `frame` starts."""
    return round(frame * rate / fps)


def build_cues(
    shots: Sequence[ShotMedia],
    spans: Sequence[ShotSpan],
    speech_durations: Sequence[float | None] | None = None,
    *,
    tail_s: float = DEFAULT_TAIL_S,
    line_width: float | None = None,
    measure: Measure = width,
) -> list[Cue]:
    """All subtitle cues of the film, in order; `speech_durations` are the narration WAV lengths.

    Lines are broken to at most `line_width` as measured by `measure` (default: text units).
    """
    speech = list(speech_durations) if speech_durations is not None else [None] * len(shots)
    cues: list[Cue] = []
    for shot, span, spoken in zip(shots, spans, speech, strict=True):
        cues.extend(
            shot_cues(span, shot.narration, speech_s=spoken, tail_s=tail_s, line_width=line_width, measure=measure)
        )
    return cues


def shot_cues(
    span: ShotSpan,
    narration: str,
    *,
    speech_s: float | None = None,
    tail_s: float = DEFAULT_TAIL_S,
    line_width: float | None = None,
    measure: Measure = width,
) -> list[Cue]:
    """One shot's cues, timed in proportion to their speech length across the spoken part of the shot."""
    wrap = {"measure": measure} if line_width is None else {"measure": measure, "line_width": line_width}
    chunks = split_cues(narration, **wrap)
    if not chunks:
        return []
    start_ms = math.ceil(span.start * 1000 - 1e-6)
    stop_ms = start_ms + round(speech_span(span.duration, speech_s, tail_s) * 1000)
    stop_ms = min(stop_ms, math.floor(span.end * 1000 + 1e-6))
    weights = [speech_weight(chunk) for chunk in chunks]
    bounds = _split_proportionally(start_ms, stop_ms, weights)
    return [
        Cue(span.shot_id, bounds[i] / 1000, bounds[i + 1] / 1000, chunk, tuple(wrap_lines(chunk, **wrap)))
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
