"""The embedded clip backend: real H.264 clips whose motion follows the camera term."""

from __future__ import annotations

import math
import re
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

from app.core.settings import Settings
from app.models.storyboard import CAMERA_TERMS
from app.services.clip.base import ClipRequest
from app.services.clip.kenburns import (
    MOTIONS,
    KenBurnsAnimator,
    camera_term,
    create,
    fit_motion,
    kenburns_args,
    motion_for,
    perspective_filter,
    window_corners,
)
from app.services.ffmpeg import probe, run_ffmpeg

W, H, FPS = 320, 180, 10


def _request(keyframe: Path, camera: str, **kw) -> ClipRequest:
    values = {"prompt": "", "duration": 2.0, "width": W, "height": H, "fps": FPS} | kw
    return ClipRequest(keyframe_path=keyframe, camera=camera, **values)


@pytest.fixture
def square(tmp_path: Path) -> Path:
    """A black keyframe with a small white square in the middle."""
    path = tmp_path / "square.png"
    img = Image.new("RGB", (W, H), (0, 0, 0))
    ImageDraw.Draw(img).rectangle((W // 2 - 12, H // 2 - 12, W // 2 + 11, H // 2 + 11), fill=(255, 255, 255))
    img.save(path)
    return path


async def _frames(clip: Path, tmp_path: Path) -> list[bytes]:
    raw = tmp_path / f"{clip.stem}.gray"
    await run_ffmpeg(["-i", str(clip), "-f", "rawvideo", "-pix_fmt", "gray", str(raw)])
    data = raw.read_bytes()
    return [data[i : i + W * H] for i in range(0, len(data), W * H)]


def _blob(frame: bytes) -> tuple[float, float, float]:
    """(area, centre x, centre y) of the bright pixels, weighted by brightness."""
    mass = sx = sy = 0.0
    for i, value in enumerate(frame):
        if value > 16:
            mass += value / 255
            sx += (i % W) * value / 255
            sy += (i // W) * value / 255
    return mass, sx / mass, sy / mass


async def _animate(keyframe: Path, camera: str, tmp_path: Path, **kw) -> list[tuple[float, float, float]]:
    clip = tmp_path / "clip.mp4"
    await KenBurnsAnimator().animate(_request(keyframe, camera, **kw), clip)
    frames = await _frames(clip, tmp_path)
    return [_blob(frames[0]), _blob(frames[-1])]


async def test_clip_is_h264_of_the_requested_shape(tmp_path: Path):
    key = tmp_path / "k.png"
    Image.new("RGB", (640, 640), (90, 120, 200)).save(key)  # another aspect: scaled to cover, then cropped
    out = tmp_path / "sub" / "clip.mp4"
    request = _request(key, "推镜头", width=1280, height=720, fps=25, duration=2.3)
    await create(Settings()).animate(request, out)
    info = await probe(out)
    (video,) = info["streams"]  # no audio stream
    assert video["codec_name"] == "h264" and video["pix_fmt"] == "yuv420p"
    assert (video["width"], video["height"]) == (1280, 720)
    assert video["r_frame_rate"] == "25/1"
    assert int(video["nb_frames"]) == round(2.3 * 25)
    assert abs(float(info["format"]["duration"]) - 2.3) <= 1 / 25


async def test_push_in_magnifies_the_centre(square: Path, tmp_path: Path):
    (area0, x0, y0), (area1, x1, y1) = await _animate(square, "推镜头", tmp_path)
    assert math.sqrt(area1 / area0) > 1.15
    assert abs(x1 - x0) < 1 and abs(y1 - y0) < 1


async def test_pull_back_shrinks_the_centre(square: Path, tmp_path: Path):
    (area0, _, _), (area1, _, _) = await _animate(square, "拉镜头", tmp_path)
    assert math.sqrt(area0 / area1) > 1.15


async def test_fixed_camera_is_nearly_static(square: Path, tmp_path: Path):
    (area0, x0, y0), (area1, x1, y1) = await _animate(square, "固定镜头", tmp_path)
    assert 1.0 <= math.sqrt(area1 / area0) < 1.06
    assert abs(x1 - x0) < 1 and abs(y1 - y0) < 1


async def test_truck_moves_sideways_and_crane_moves_vertically(square: Path, tmp_path: Path):
    (_, x0, y0), (_, x1, y1) = await _animate(square, "水平横移", tmp_path)
    assert abs(x1 - x0) > 0.06 * W and abs(y1 - y0) < 1
    (_, x0, y0), (_, x1, y1) = await _animate(square, "垂直升降", tmp_path)
    assert abs(y1 - y0) > 0.06 * H and abs(x1 - x0) < 1


async def test_english_label_moves_like_the_chinese_term(square: Path, tmp_path: Path):
    (area0, _, _), (area1, _, _) = await _animate(square, "push-in", tmp_path)
    assert math.sqrt(area1 / area0) > 1.15


@pytest.mark.parametrize(("term", "sign"), [("左旋转", 1), ("右旋转", -1)])
async def test_rotation_turns_the_picture_the_named_way(tmp_path: Path, term: str, sign: int):
    key = tmp_path / "bar.png"
    img = Image.new("RGB", (W, H))
    ImageDraw.Draw(img).rectangle((40, H // 2 - 2, W - 40, H // 2 + 1), fill=(255, 255, 255))
    img.save(key)
    clip = tmp_path / "clip.mp4"
    await KenBurnsAnimator().animate(_request(key, term, duration=1.0), clip)
    last = (await _frames(clip, tmp_path))[-1]

    def bar_y(x: int) -> float:
        column = [last[y * W + x] for y in range(H)]
        return sum(y * v for y, v in enumerate(column)) / sum(column)

    rise = bar_y(W // 4) - bar_y(3 * W // 4)  # > 0: the right end is higher, counter-clockwise
    assert sign * rise > 4


def test_camera_terms_and_labels_map_to_moves():
    assert set(MOTIONS) == set(CAMERA_TERMS)
    for term, label in CAMERA_TERMS.items():
        assert camera_term(term) == term
        assert camera_term(label) == term
        assert camera_term(label.upper()) == term
    assert camera_term("slow zoom in") == "推镜头"
    assert camera_term("zoom out") == "拉镜头"
    assert camera_term("") == camera_term("something else") == "固定镜头"
    push, pull = motion_for("推镜头"), motion_for("拉镜头")
    assert push.zoom[1] > push.zoom[0] and pull.zoom[1] < pull.zoom[0]
    assert motion_for("水平横移", seed=1).x == tuple(-v for v in motion_for("水平横移", seed=0).x)
    assert motion_for("推镜头", seed=1) == push


@pytest.mark.parametrize("size", [(1280, 720), (720, 1280), (1080, 1080), (320, 180)])
@pytest.mark.parametrize("term", sorted(CAMERA_TERMS))
def test_window_never_leaves_the_still(term: str, size: tuple[int, int]):
    """Evaluate the very expressions FFmpeg gets: every corner stays inside the keyframe."""
    w, h = size
    frames = 50
    motion = fit_motion(motion_for(term), w, h)
    exprs = dict(re.findall(r"([xy][0-3])='([^']*)'", perspective_filter(motion, w, h, frames, var="n")))
    assert len(exprs) == 8
    env = {"__builtins__": {}, "sin": math.sin, "cos": math.cos}
    for n in range(frames):
        for key, expr in exprs.items():
            value = eval(expr, env | {"n": n})  # noqa: S307 - our own numeric expression
            limit = w if key[0] == "x" else h
            assert -0.6 <= value <= limit + 0.6, (term, n, key, value)
    first = window_corners(motion, w, h, 0.0)
    tl = (eval(exprs["x0"], env | {"n": 0}), eval(exprs["y0"], env | {"n": 0}))  # noqa: S307
    assert tl == pytest.approx(first[0], abs=1e-3)


def test_argv_is_one_h264_encode(tmp_path: Path):
    request = _request(tmp_path / "k.png", "推镜头", duration=5.0, fps=25, width=1280, height=720)
    args = kenburns_args(request, tmp_path / "o.mp4", crf=20, preset="faster")
    assert args[args.index("-i") + 1] == str(tmp_path / "k.png")
    assert args[-1] == str(tmp_path / "o.mp4")
    pairs = {args[i]: args[i + 1] for i in range(len(args) - 1) if args[i].startswith("-")}
    assert pairs["-c:v"] == "libx264" and pairs["-pix_fmt"] == "yuv420p"
    assert pairs["-crf"] == "20" and pairs["-preset"] == "faster"
    assert pairs["-frames:v"] == "125" and pairs["-r"] == "25"
    assert pairs["-movflags"] == "+faststart" and "-an" in args
    assert "perspective=" in pairs["-vf"] and "scale=1280:720" in pairs["-vf"]
    assert "zoompan" not in pairs["-vf"]


@pytest.mark.parametrize(
    "change", [{"width": 321}, {"height": 0}, {"fps": 0}, {"duration": 0.0}], ids=["odd", "zero-h", "fps", "dur"]
)
def test_argv_rejects_impossible_requests(tmp_path: Path, change: dict):
    with pytest.raises(ValueError):
        kenburns_args(_request(tmp_path / "k.png", "推镜头", **change), tmp_path / "o.mp4")


def test_encoder_settings_come_from_settings():
    animator = KenBurnsAnimator(Settings(VIDEO_CRF=30, VIDEO_PRESET="ultrafast", FFMPEG_TIMEOUT_S=5))
    assert (animator.crf, animator.preset, animator.timeout_s) == (30, "ultrafast", 5)
    assert KenBurnsAnimator(crf=0).crf == 0 and KenBurnsAnimator().preset == "veryfast"
