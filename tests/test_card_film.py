"""Storyboard cards read well on film: through every Ken Burns move, in 16:9, 9:16 and 1:1, no card word
is cropped and none falls in the band where the burned subtitle goes.

The clips are made by the real Ken Burns backend from the card's words alone (white on black), and
every frame is checked; the subtitle band itself is checked against libass drawing a two-line cue.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from PIL import Image

from app.models.storyboard import CAMERA_TERMS
from app.services.clip.base import ClipRequest
from app.services.clip.kenburns import KenBurnsAnimator, every_move, motion_for, output_point
from app.services.compose.ffmpeg_args import ass_filter
from app.services.compose.layout import subtitle_band_top, subtitle_layout, title_safe
from app.services.compose.subtitles import to_ass, write_text
from app.services.compose.timeline import Cue
from app.services.ffmpeg import run_ffmpeg
from app.services.keyframe.base import KeyframeRequest
from app.services.keyframe.card import card_words, render_card
from app.services.keyframe.safearea import Box, card_text_area, text_fits

SIZES = {"16:9": (384, 216), "9:16": (216, 384), "1:1": (288, 288)}
FPS, FRAMES = 9, 9  # nine frames: both ends of the move and its middle (where orbits zoom most)
LONG = {
    "story_title": "一个非常非常长的故事标题，长到放不下" * 3,
    "subject": "一只名字非常非常长的小狗豆豆豆豆豆豆（一只小狗，金黄色的毛发，系着红色围巾）",
    "style": "温馨可爱 watercolor, soft light, storybook illustration",
    "tone": "warm",
}


def card_request(width: int, height: int, camera: str = "推镜头", **kw: object) -> KeyframeRequest:
    values: dict[str, object] = {"story_title": "小狗找妈妈", "style": "温馨", "shot_id": "s-1", "sequence": 12,
                                 "subject": "豆豆（一只小狗，金黄色的毛发）", "image_detail": "豆豆在草地上奔跑",
                                 "camera": camera, "tone": "warm", "width": width, "height": height, "seed": 5,
                                 "version": 3}
    return KeyframeRequest(**(values | kw))


def words_box(request: KeyframeRequest) -> Box:
    bbox = card_words(request).getchannel("A").getbbox()
    assert bbox is not None, "the card has words"
    return Box(*bbox)


# --------------------------------------------------------------------------- geometry


@pytest.mark.parametrize("size", [*SIZES.values(), (1280, 720), (720, 1280), (1080, 1080), (1920, 1080)])
def test_words_stay_where_no_move_crops_them_or_the_subtitles_cover_them(size: tuple[int, int]) -> None:
    width, height = size
    area = card_text_area(width, height)
    assert text_fits(area, width, height)
    for kw in ({}, LONG, {"camera": "an unusual camera instruction far too long for any badge " * 2}):
        box = words_box(card_request(width, height, **kw))
        assert area.left <= box.left and box.right <= area.right and area.top <= box.top and box.bottom <= area.bottom
    safe = title_safe(width, height)
    assert area.width > 0.5 * (safe[2] - safe[0]) and area.height > 0.5 * (safe[3] - safe[1])  # room for words


def test_the_area_check_fails_for_a_box_a_move_crops() -> None:
    width, height = SIZES["16:9"]
    assert not text_fits(Box(0, 0, width, height), width, height)
    area = card_text_area(width, height)
    assert not text_fits(Box(area.left, area.top, area.right, area.bottom + 0.1 * height), width, height)


def test_a_card_shows_a_few_large_words_not_the_prompt() -> None:
    base = card_request(1280, 720)
    card = render_card(base)
    same_words = render_card(card_request(1280, 720, image_detail="城市的屋顶上站着一只黑猫，远处是高楼。" * 5,
                                          subject="豆豆（一只完全不同的小狗，乌黑的毛发）"))
    assert card.tobytes() == same_words.tobytes()  # neither the prompt nor the look is printed
    renamed = render_card(card_request(1280, 720, subject="妈妈（一只狗妈妈）"))
    assert card.tobytes() != renamed.tobytes()


# --------------------------------------------------------------------------- on film


async def _frames(clip: Path, width: int, height: int) -> list[bytes]:
    raw = clip.with_suffix(".gray")
    await run_ffmpeg(["-i", str(clip), "-f", "rawvideo", "-pix_fmt", "gray", str(raw)])
    data = raw.read_bytes()
    return [data[i:i + width * height] for i in range(0, len(data), width * height)]


def _outside(frame: bytes, width: int, height: int, safe: tuple[int, int, int, int]) -> list[int]:
    """Rows with a lit pixel outside the title-safe area (which ends where the subtitle band begins)."""
    left, top, right, bottom = safe
    rows = []
    for y in range(height):
        row = frame[y * width:(y + 1) * width]
        inside = top - 1 <= y <= bottom
        if max(row if not inside else row[:max(left - 1, 0)] + row[right + 1:] or b"\0") > 48:
            rows.append(y)
    return rows


async def _film(aspect: str, camera: str, seed: int, tmp_path: Path) -> list[int]:
    width, height = SIZES[aspect]
    mask = card_words(card_request(width, height, camera, **LONG)).getchannel("A").point(lambda v: 255 if v else 0)
    still = tmp_path / f"{aspect.replace(':', 'x')}-{seed}-{hash(camera) & 0xffff}.png"
    Image.merge("RGB", (mask, mask, mask)).save(still)
    clip = still.with_suffix(".mp4")
    request = ClipRequest(keyframe_path=still, camera=camera, prompt="", duration=FRAMES / FPS, width=width,
                          height=height, fps=FPS, seed=seed)
    await KenBurnsAnimator(crf=12, preset="ultrafast").animate(request, clip)
    frames = await _frames(clip, width, height)
    assert len(frames) == FRAMES
    safe = title_safe(width, height)
    bad: list[int] = []
    for frame in frames:
        assert max(frame) > 200, "the words are on every frame"
        bad += _outside(frame, width, height, safe)
    return bad


@pytest.mark.parametrize("aspect", list(SIZES))
async def test_no_word_is_cropped_or_under_the_subtitles_in_any_frame(aspect: str, tmp_path: Path) -> None:
    """Every camera term, both ways for the mirrored ones (an odd seed mirrors), on the frames of the clip."""
    gate = asyncio.Semaphore(4)
    moves = [(c, s) for c in CAMERA_TERMS for s in (0, 1) if s == 0 or motion_for(c, 1) != motion_for(c, 0)]

    async def film(camera: str, seed: int) -> tuple[str, int, list[int]]:
        async with gate:
            return camera, seed, await _film(aspect, camera, seed, tmp_path)

    results = await asyncio.gather(*(film(c, s) for c, s in moves))
    assert len(results) == len(every_move(*SIZES[aspect])) == 17
    assert all(not bad for _c, _s, bad in results), [(c, s, bad[:3]) for c, s, bad in results if bad]


async def test_the_subtitle_band_holds_a_two_line_cue(tmp_path: Path) -> None:
    """libass draws the longest cue (two lines) below `subtitle_band_top` in every shape."""
    for aspect, (width, height) in SIZES.items():
        layout = subtitle_layout(width, height)
        cue = Cue("s", 0.0, 1.0, "豆豆扑进妈妈温暖的怀里", ("豆豆扑进妈妈温暖的怀里，", "它们一起踏着月光回家了。"))
        ass = write_text(to_ass([cue], layout, "Noto Sans CJK SC"), tmp_path / f"{width}.ass")
        out = tmp_path / f"{width}.gray"
        await run_ffmpeg(["-f", "lavfi", "-i", f"color=black:s={width}x{height}:d=0.5", "-vf", ass_filter(ass),
                          "-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "gray", str(out)])
        data = out.read_bytes()
        rows = [y for y in range(height) if any(v > 32 for v in data[y * width:(y + 1) * width])]
        assert rows, aspect
        assert rows[0] >= subtitle_band_top(layout), (aspect, rows[0], subtitle_band_top(layout))
        assert rows[-1] < height


def test_output_point_undoes_the_window() -> None:
    """The mapping the area is computed with agrees with the window FFmpeg is given."""
    from app.services.clip.kenburns import window_corners

    width, height = SIZES["9:16"]
    for motion in every_move(width, height):
        for e in (0.0, 0.37, 0.5, 1.0):
            corners = window_corners(motion, width, height, e)
            seen = [output_point(motion, width, height, e, c) for c in corners]
            expected = [(0, 0), (width, 0), (0, height), (width, height)]
            for point, corner in zip(seen, expected, strict=True):
                assert abs(point[0] - corner[0]) < 1e-6 and abs(point[1] - corner[1]) < 1e-6


async def test_the_film_check_sees_a_word_under_the_subtitles(tmp_path: Path) -> None:
    """The frame check can fail: a word drawn in the subtitle band is found on the frames."""
    width, height = SIZES["16:9"]
    still = tmp_path / "low.png"
    image = Image.new("RGB", (width, height))
    image.paste((255, 255, 255), (width // 3, height - 30, 2 * width // 3, height - 20))
    image.save(still)
    clip = tmp_path / "low.mp4"
    request = ClipRequest(keyframe_path=still, camera="固定镜头", prompt="", duration=FRAMES / FPS, width=width,
                          height=height, fps=FPS)
    await KenBurnsAnimator(crf=12, preset="ultrafast").animate(request, clip)
    frames = await _frames(clip, width, height)
    assert all(_outside(frame, width, height, title_safe(width, height)) for frame in frames)
