"""Subtitle text: cue splitting, line breaking by rendered width, no orphan punctuation, layouts."""

from __future__ import annotations

import re

import pytest

from app.services.compose.fonts import FontMeasure, font_file, subtitle_measure
from app.services.compose.layout import MAX_LINE_EMS, line_width, orientation, subtitle_layout
from app.services.compose.text import LINE_UNITS, MAX_LINES, NO_LINE_START, split_cues, width, wrap_lines

ZH = "从前有一座山，山里有一座庙，庙里有个老和尚在给小和尚讲故事。他讲的是什么呢？“从前有一座山……”"
EN = (
    "Once upon a time, there was a mountain; on the mountain stood a temple. An old monk told a story "
    "to a young monk, which was a very long story indeed, going on and on without ever stopping. "
    "Mr. Smith paid $3.50 at 10:30!"
)
MIXED = "小明说：“Hello, world!” 然后他走了。Supercalifragilisticexpialidociousandevenlongerwordthatneverends."
PUNCTUATED = "他看了看天空，说：“要下雨了。”她点点头，回答：“是的！我们回家吧，快点。”" * 3
FONT = "Noto Sans CJK SC"


def squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


@pytest.fixture(scope="module")
def measure():
    return subtitle_measure(FONT, subtitle_layout(1280, 720).font_size)


@pytest.mark.parametrize("narration", [ZH, EN, MIXED, PUNCTUATED, "……好。", "Hi.", "  ", "", "a" * 300, "字" * 100])
def test_cues_cover_every_character_once_in_order_within_two_lines(narration: str) -> None:
    chunks = split_cues(narration)
    assert squash("".join(chunks)) == squash(narration)
    for chunk in chunks:
        assert chunk and chunk == chunk.strip()
        lines = wrap_lines(chunk)
        assert 1 <= len(lines) <= MAX_LINES
        assert all(width(line) <= LINE_UNITS for line in lines)
        assert squash("".join(lines)) == squash(chunk)


def test_cues_split_at_sentences_and_keep_punctuation() -> None:
    chunks = split_cues(ZH)
    assert chunks[0].endswith("讲故事。")
    assert chunks[1] == "他讲的是什么呢？"
    assert chunks[2] == "“从前有一座山……”"
    en = split_cues(EN)
    assert en[0] == "Once upon a time, there was a mountain;"
    assert en[-1] == "Mr. Smith paid $3.50 at 10:30!"


def test_unit_line_limits_are_18_cjk_or_42_latin_characters() -> None:
    assert wrap_lines("字" * 18) == ["字" * 18]
    assert [len(line) for line in wrap_lines("字" * 36)] == [18, 18]
    assert wrap_lines("x" * 42) == ["x" * 42]
    assert all(len(line) <= 42 for line in wrap_lines("word " * 16))


def test_wrapping_prefers_spaces_and_punctuation() -> None:
    assert wrap_lines("从前有一座山，山里有一座庙，庙里有个老和尚在给小和尚讲故事。") == [
        "从前有一座山，山里有一座庙，",
        "庙里有个老和尚在给小和尚讲故事。",
    ]
    lines = wrap_lines("An old monk told a story to a young monk, which was a long story indeed.")
    assert len(lines) == 2
    assert " ".join(lines) == "An old monk told a story to a young monk, which was a long story indeed."


@pytest.mark.parametrize("cut", range(4, 30))
def test_no_line_starts_with_closing_punctuation(cut: int) -> None:
    # every line width puts some break right before a punctuation mark; none may be taken
    text = "我们走吧。”他说，“好！”然后、他们（一起）走了……就这样。" * 2
    for chunk in split_cues(text, line_width=cut * width("字")):
        lines = wrap_lines(chunk, line_width=cut * width("字"))
        assert len(lines) <= MAX_LINES
        for line in lines[1:]:
            assert line[0] not in NO_LINE_START, lines
        for line in lines[:-1]:
            assert line[-1] not in "“‘「『（([【《", lines


def test_the_font_is_found_and_measured_as_libass_sizes_it(measure) -> None:
    found = font_file(FONT)
    assert found is not None and found[0].endswith((".ttc", ".otf", ".ttf"))
    assert isinstance(measure, FontMeasure)
    font_size = subtitle_layout(1280, 720).font_size
    # libass makes ascent + descent = Fontsize; Noto CJK's em is 1000 of its 1448 units
    assert measure("字") == pytest.approx(font_size * 1000 / 1448, rel=0.02)
    assert measure("iiii") < measure("MMMM") < measure("字字字字")


def test_lines_break_by_rendered_width_not_character_count(measure) -> None:
    limit = line_width(subtitle_layout(1280, 720), measure)
    narrow = wrap_lines("il " * 22, line_width=limit, measure=measure)
    wide = wrap_lines("WM " * 22, line_width=limit, measure=measure)
    assert len(narrow) == 1 < len(wide)  # the same 66 characters: one line of i/l, more of W/M
    for lines in (narrow, wide, wrap_lines(ZH, line_width=limit, measure=measure)):
        assert all(measure(line) <= limit for line in lines)


@pytest.mark.parametrize(("size", "shape"), [((1280, 720), "landscape"), ((720, 1280), "portrait"),
                                             ((720, 720), "square"), ((1920, 1080), "landscape")])  # fmt: skip
def test_layouts_keep_text_inside_the_safe_area_of_each_shape(size: tuple[int, int], shape: str) -> None:
    w, h = size
    layout = subtitle_layout(w, h)
    assert orientation(w, h) == shape
    assert layout.margin_lr >= int(0.05 * w) and layout.margin_bottom >= int(0.06 * h)
    if shape == "portrait":  # clear of the captions and buttons short-video apps draw
        assert layout.margin_bottom >= int(0.15 * h) and layout.margin_lr >= int(0.08 * w)
    assert layout.font_size == round(0.065 * min(w, h))
    sized = subtitle_measure(FONT, layout.font_size)
    assert line_width(layout, sized) <= layout.safe_width
    assert line_width(layout, sized) <= MAX_LINE_EMS * sized("字") + 1e-6


def test_a_missing_font_falls_back_to_an_estimate() -> None:
    estimate = subtitle_measure("No Such Font Family 123", 40)
    assert estimate("字") > estimate("a") > 0
