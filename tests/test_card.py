"""The embedded keyframe backend: storyboard cards drawn with Pillow."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image, ImageChops, ImageStat

from app.core.settings import Settings
from app.services.keyframe.base import KeyframeRequest
from app.services.keyframe.card import (
    StoryboardCardRenderer,
    camera_caption,
    create,
    palette_for,
    render_card,
    sky_mood,
    tone_mood,
)
from app.services.keyframe.cardtext import ELLIPSIS, fit_line, load_font, wrap_text

DETAIL = "清晨的竹林里，薄雾弥漫，一只小熊猫蹲在溪边的石头上，好奇地望着水中游动的小鱼。"


def _request(**kw) -> KeyframeRequest:
    values = {
        "story_title": "小熊猫的奇妙冒险",
        "style": "水彩",
        "shot_id": "shot-1",
        "sequence": 3,
        "subject": "小熊猫在溪边",
        "image_detail": DETAIL,
        "camera": "推镜头",
        "tone": "温馨",
        "width": 1280,
        "height": 720,
        "seed": 7,
        "version": 2,
    }
    return KeyframeRequest(**(values | kw))


@pytest.mark.parametrize("size", [(1280, 720), (720, 1280), (1080, 1080)])
async def test_card_is_a_png_of_the_requested_size(tmp_path: Path, size: tuple[int, int]):
    out = tmp_path / "cards" / "k.png"
    await create(Settings()).render(_request(width=size[0], height=size[1]), out)
    with Image.open(out) as img:
        assert img.format == "PNG" and img.size == size and img.mode == "RGB"
    assert [p.name for p in out.parent.iterdir()] == ["k.png"]


def test_cards_are_deterministic_and_differ_per_shot():
    a = render_card(_request())
    assert ImageChops.difference(a, render_card(_request())).getbbox() is None
    b = render_card(_request(sequence=4, shot_id="shot-2", seed=8))
    diff = ImageStat.Stat(ImageChops.difference(a, b).convert("L")).mean[0]
    assert diff > 5, "two shots should look clearly different"


def test_style_and_tone_change_the_palette():
    base = palette_for("水彩", "温馨")
    assert palette_for("水彩", "温馨") == base
    assert palette_for("赛博朋克", "温馨") != base
    assert palette_for("水彩", "紧张") != base
    dark, warm = palette_for("水彩", "紧张"), palette_for("水彩", "欢快")
    assert sum(dark.top) < sum(warm.top)
    assert [tone_mood(t) for t in ("温馨", "悬疑", "宁静", "happy", "")] == ["warm", "dark", "cool", "warm", "neutral"]


def test_camera_caption_names_term_and_label():
    assert camera_caption("推镜头") == "推镜头 · push-in"
    assert camera_caption("pull-back") == "拉镜头 · pull-back"
    assert camera_caption("dolly zoom") == "dolly zoom"


def test_chinese_glyphs_are_real_glyphs():
    font = load_font(40)
    masks = [font.getmask(ch) for ch in "镜头"]
    assert all(m.getbbox() for m in masks)
    assert bytes(masks[0]) != bytes(masks[1]), "distinct characters must not render as the same box"


def test_the_subject_name_is_drawn_in_the_lower_panel():
    """The card names the subject in large letters (the prompt is not printed: the hour it shows tints
    the sky instead, see test_the_hour_of_the_prompt_tints_the_sky)."""
    a, b = render_card(_request()), render_card(_request(subject="小狐狸在溪边"))
    box = ImageChops.difference(a, b).getbbox()
    assert box is not None
    assert box[1] > 720 * 0.45, "only the lower caption panel should change"
    same_name = render_card(_request(subject="小熊猫在溪边（一只红棕色的小熊猫）"))
    assert ImageChops.difference(a, same_name).getbbox() is None, "the look after the name is not printed"


def test_the_hour_of_the_prompt_tints_the_sky():
    day, night = render_card(_request()), render_card(_request(image_detail="月光下，竹林里静悄悄的。"))
    assert sky_mood("夜晚清冷的月光") == "dark" and sky_mood("Golden evening sunset") == "warm"
    assert ImageStat.Stat(night.convert("L")).mean[0] < ImageStat.Stat(day.convert("L")).mean[0] - 10


@pytest.mark.parametrize("size", [(1280, 720), (720, 1280), (1080, 1080)])
def test_long_texts_stay_inside_the_margins(size: tuple[int, int]):
    w, h = size
    short = render_card(_request(width=w, height=h))
    long = render_card(
        _request(
            width=w,
            height=h,
            subject="一个非常非常长的主体描述" * 8,
            image_detail=(DETAIL + "A very long English sentence without end ") * 40,
            story_title="很长的故事标题" * 20,
            camera="an unusual camera instruction that is far too long to fit on any badge at all" * 2,
        )
    )
    margin = round(0.06 * min(w, h))
    left, top, right, bottom = ImageChops.difference(short, long).getbbox()
    assert left >= margin - 2 and right <= w - margin + 2
    assert top >= margin - 2 and bottom <= h - margin + 2


def test_wrap_respects_pixel_width_and_words():
    font = load_font(30)
    lines = wrap_text(DETAIL * 3, font, 400)
    assert len(lines) > 3 and all(font.getlength(line) <= 400 for line in lines)
    assert "".join(lines) == DETAIL * 3
    assert not any(line[0] in "，。" for line in lines), "no line starts with closing punctuation"
    english = wrap_text("the quick brown fox jumps over the lazy dog " * 5, font, 300)
    words = {w for line in english for w in line.split()}
    assert words == {"the", "quick", "brown", "fox", "jumps", "over", "lazy", "dog"}


def test_wrap_truncates_with_an_ellipsis():
    font = load_font(30)
    lines = wrap_text(DETAIL * 10, font, 300, max_lines=3)
    assert len(lines) == 3 and lines[-1].endswith(ELLIPSIS)
    assert all(font.getlength(line) <= 300 for line in lines)
    assert wrap_text("   ", font, 300) == []
    assert font.getlength(fit_line("x" * 500, font, 200)) <= 200
    assert fit_line("short  title", font, 500) == "short title"
    long_word = wrap_text("a" * 200, font, 100)
    assert len(long_word) > 1 and all(font.getlength(line) <= 100 for line in long_word)


async def test_renderer_runs_off_the_event_loop(tmp_path: Path):
    renderer = StoryboardCardRenderer()
    await renderer.render(_request(), tmp_path / "a.png")
    assert (tmp_path / "a.png").stat().st_size > 10_000
