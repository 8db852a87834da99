"""Pure planning of a film: shot spans, clip segments with transitions, subtitle cues and layout."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from app.services.compose.ffmpeg_args import AUDIO_RATE
from app.services.compose.layout import SubtitleLayout, line_width, subtitle_layout
from app.services.compose.models import ComposeOptions, ShotMedia
from app.services.compose.text import Measure
from app.services.compose.timeline import (
    Cue,
    Segment,
    ShotSpan,
    build_cues,
    film_frames,
    frame_sample,
    segments,
    shot_spans,
    transition_frames,
)


@dataclass(frozen=True)
class FilmPlan:
    """Everything about the film's timing and subtitles, decided before FFmpeg runs."""

    spans: list[ShotSpan]
    segments: list[Segment]
    cues: list[Cue]
    layout: SubtitleLayout
    fps: int

    @property
    def frames(self) -> int:
        return film_frames(self.spans)

    @property
    def duration(self) -> float:
        return self.frames / self.fps

    @property
    def samples(self) -> int:
        """Audio samples of the film at AUDIO_RATE."""
        return frame_sample(self.frames, self.fps, AUDIO_RATE)


def plan_film(
    shots: Sequence[ShotMedia], speech: Sequence[float | None], options: ComposeOptions, measure: Measure
) -> FilmPlan:
    """Plan the film: `speech` holds the narration lengths, `measure` the subtitle font's widths."""
    spans = shot_spans(shots, options.fps, speech)
    seconds = options.transition_s if options.transition != "cut" else 0.0
    layout = subtitle_layout(options.width, options.height)
    cues = build_cues(shots, spans, speech, line_width=line_width(layout, measure), measure=measure)
    return FilmPlan(spans, segments(spans, transition_frames(spans, seconds)), cues, layout, options.fps)
