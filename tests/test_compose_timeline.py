"""Pure timing of the film: shot spans in frames, transition overlaps, audio samples and cue timing."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from app.services.compose.models import ComposeOptions, ShotMedia
from app.services.compose.plan import plan_film
from app.services.compose.text import width
from app.services.compose.timeline import (
    Cue,
    ShotSpan,
    build_cues,
    film_duration,
    film_frames,
    frame_sample,
    segments,
    shot_cues,
    shot_spans,
    transition_frames,
)

ZH = "从前有一座山，山里有一座庙，庙里有个老和尚在给小和尚讲故事。他讲的是什么呢？“从前有一座山……”"
EN = (
    "Once upon a time, there was a mountain; on the mountain stood a temple. An old monk told a story "
    "to a young monk, which was a very long story indeed, going on and on without ever stopping. "
    "Mr. Smith paid $3.50 at 10:30!"
)
MIXED = "小明说：“Hello, world!” 然后他走了。Supercalifragilisticexpialidociousandevenlongerwordthatneverends."


def shot(i: int, duration: float, narration: str = "") -> ShotMedia:
    return ShotMedia(shot_id=f"s{i}", clip_path=Path(f"/clips/{i}.mp4"), audio_path=Path(f"/tts/{i}.wav"),
                     duration=duration, narration=narration)  # fmt: skip


def squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


@pytest.mark.parametrize("fps", [16, 24, 25, 30, 60])
def test_spans_are_contiguous_whole_frames_summing_to_the_planned_length(fps: int) -> None:
    durations = [1.01, 2.333, 0.5, 3.1, 0.04, 2.71828]
    spans = shot_spans([shot(i, d) for i, d in enumerate(durations)], fps)
    assert [s.shot_id for s in spans] == [f"s{i}" for i in range(len(durations))]
    assert spans[0].first_frame == 0
    for before, after in zip(spans, spans[1:], strict=False):
        assert after.first_frame == before.first_frame + before.frames
    assert all(s.frames >= 1 for s in spans)
    assert film_duration(spans) == pytest.approx(sum(durations), abs=0.5 / fps + 1e-9)
    for span, duration in zip(spans, durations, strict=True):
        assert span.duration == pytest.approx(duration, abs=1 / fps + 1e-9)


def test_a_narration_longer_than_its_shot_lengthens_the_shot_so_no_word_is_cut() -> None:
    spans = shot_spans([shot(0, 1.0), shot(1, 2.0), shot(2, 1.0)], 25, [0.5, 2.61, None])
    assert [s.frames for s in spans] == [25, 66, 25]  # 2.61 s of speech needs 66 frames
    assert spans[2].first_frame == 91


def test_audio_samples_match_the_frames_exactly() -> None:
    spans = shot_spans([shot(i, d) for i, d in enumerate([1.01, 2.333, 0.5])], 30)
    assert frame_sample(film_frames(spans), 30, 48_000) == round(film_duration(spans) * 48_000)
    assert frame_sample(spans[0].frames, 30, 48_000) == spans[0].frames * 1600


def test_transitions_are_capped_at_half_of_either_neighbour_and_short_ones_become_cuts() -> None:
    spans = shot_spans([shot(0, 4.0), shot(1, 0.6), shot(2, 4.0), shot(3, 0.04)], 25)
    assert transition_frames(spans, 0.5) == [7, 7, 0]  # 0.6 s = 15 frames → at most 7; 1 frame → cut
    assert transition_frames(spans, 0.0) == [0, 0, 0]
    assert transition_frames(spans[:1], 0.5) == []


@pytest.mark.parametrize("blend", [0, 12, 13])
def test_segments_overlap_by_the_transition_and_keep_the_film_length_exact(blend: int) -> None:
    spans = shot_spans([shot(0, 3.0), shot(1, 2.0), shot(2, 4.0)], 25)
    segs = segments(spans, [blend, blend])
    lengths = [s.length for s in segs]
    assert sum(lengths) - 2 * blend == film_frames(spans)  # xfade output = inputs less overlaps
    assert sum(s.out_frames for s in segs) == film_frames(spans)  # producers write the film once
    for before, after in zip(segs, segs[1:], strict=False):
        # the transition is centred on the boundary: the next clip starts as the previous one blends out
        assert after.clip_start_frame == before.clip_start_frame + before.length - blend
        assert after.clip_start_frame <= after.span.first_frame <= after.clip_start_frame + blend
        assert before.blend == after.skip == blend
    assert segs[0].lead == 0 and segs[0].skip == 0 and segs[-1].tail == 0 and segs[-1].blend == 0


def test_segments_need_one_transition_per_boundary() -> None:
    spans = shot_spans([shot(0, 1.0), shot(1, 1.0)], 25)
    with pytest.raises(ValueError):
        segments(spans, [])


def test_a_shot_midpoint_is_never_inside_a_transition() -> None:
    spans = shot_spans([shot(0, 1.0), shot(1, 0.6), shot(2, 1.0)], 25)
    segs = segments(spans, transition_frames(spans, 2.0))
    for seg in segs:
        middle = seg.span.first_frame + seg.span.frames // 2
        incoming_end = seg.clip_start_frame + seg.skip
        outgoing_start = seg.clip_start_frame + seg.length - seg.blend
        assert incoming_end <= middle < outgoing_start


def test_plan_film_applies_the_transition_option_and_plans_cues() -> None:
    shots = [shot(0, 2.0, ZH), shot(1, 2.0, EN)]
    plan = plan_film(shots, [1.5, None], ComposeOptions(transition="crossfade", transition_s=0.4), width)
    assert [s.blend for s in plan.segments] == [10, 0]
    assert plan.frames == 100 and plan.duration == 4.0 and plan.samples == 192_000
    cut = plan_film(shots, [1.5, None], ComposeOptions(transition="cut", transition_s=0.4), width)
    assert [s.blend for s in cut.segments] == [0, 0]
    assert {c.shot_id for c in plan.cues} == {"s0", "s1"}


# --- cues ---------------------------------------------------------------------------------------


def film(fps: int = 25) -> tuple[list[ShotMedia], list[ShotSpan]]:
    shots = [shot(0, 4.3, ZH), shot(1, 2.0, ""), shot(2, 6.1, EN), shot(3, 3.7, MIXED)]
    return shots, shot_spans(shots, fps)


def test_cues_are_ordered_inside_their_shots_and_cover_all_narration() -> None:
    shots, spans = film()
    cues = build_cues(shots, spans)
    by_id = {s.shot_id: s for s in spans}
    for cue in cues:
        span = by_id[cue.shot_id]
        assert span.start - 1e-9 <= cue.start < cue.end <= span.end + 1e-9
    for before, after in zip(cues, cues[1:], strict=False):
        assert before.end <= after.start + 1e-9
    for one in shots:
        text = "".join(c.text for c in cues if c.shot_id == one.shot_id)
        assert squash(text) == squash(one.narration)


def test_cues_follow_the_measured_speech_else_stop_a_tail_before_the_shot_end() -> None:
    shots, spans = film()
    measured = build_cues(shots, spans, [3.0, 1.0, 10.0, None])
    last = {c.shot_id: c for c in measured}
    assert last["s0"].end == pytest.approx(spans[0].start + 3.0, abs=0.002)
    assert last["s2"].end <= spans[2].end + 1e-9
    assert last["s3"].end == pytest.approx(spans[3].end - 0.3, abs=0.002)


def test_cue_durations_are_proportional_to_speech_length() -> None:
    span = ShotSpan("s", 0, 250, 25)
    short, long = shot_cues(span, "短句。这是一个长得多的句子，有很多字。", speech_s=8.0)
    assert (long.end - long.start) > 2 * (short.end - short.start)
    assert short.start == 0 and long.end == pytest.approx(8.0)


def test_cue_lines_follow_the_given_line_width() -> None:
    span = ShotSpan("s", 0, 250, 25)
    cues = shot_cues(span, "字" * 30, line_width=10 * width("字"))
    assert [len(line) for cue in cues for line in cue.lines] == [10, 10, 10]
    assert all(isinstance(c, Cue) and len(c.lines) <= 2 for c in cues)
