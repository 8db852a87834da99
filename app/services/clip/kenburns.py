"""Embedded clip backend: a Ken Burns move over the keyframe, one FFmpeg call, no GPU.

The move is done by FFmpeg's `perspective` filter with per-frame expressions and bilinear
sampling, so zoom, pan and roll are sub-pixel smooth (no `zoompan` integer jitter).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from pathlib import Path

from app.core.settings import Settings
from app.models.storyboard import CAMERA_TERMS
from app.services.backend import Readiness, binary_readiness
from app.services.clip.base import ClipRequest
from app.services.ffmpeg import run_ffmpeg

Pair = tuple[float, float]


@dataclass(frozen=True)
class Motion:
    """A camera move as start → end values, eased over the clip.

    zoom: magnification of the source (1 = whole still); x, y: centre offset of the viewed window
    as a fraction of the frame size (positive x looks further right); angle: roll of the window in
    degrees (positive turns the picture counter-clockwise); bulge: extra zoom at mid-clip (arcs).
    """

    zoom: Pair = (1.0, 1.0)
    x: Pair = (0.0, 0.0)
    y: Pair = (0.0, 0.0)
    angle: Pair = (0.0, 0.0)
    bulge: float = 0.0

    def mirrored(self) -> Motion:
        """The same move in the opposite horizontal direction."""
        return replace(self, x=(-self.x[0], -self.x[1]), angle=(-self.angle[0], -self.angle[1]))


#: One move per camera term of the planner's vocabulary.
MOTIONS: dict[str, Motion] = {
    "推镜头": Motion(zoom=(1.0, 1.22)),
    "拉镜头": Motion(zoom=(1.22, 1.0)),
    "水平横移": Motion(zoom=(1.12, 1.12), x=(-0.05, 0.05)),
    "左右摇镜": Motion(zoom=(1.15, 1.15), x=(0.06, -0.06), y=(0.0, 0.01)),
    "垂直升降": Motion(zoom=(1.12, 1.14), y=(0.05, -0.05)),
    "上下摇镜": Motion(zoom=(1.15, 1.15), y=(-0.06, 0.06)),
    "左旋转": Motion(zoom=(1.04, 1.1), x=(0.0, -0.01), y=(0.0, -0.01), angle=(0.0, 3.0)),
    "右旋转": Motion(zoom=(1.04, 1.1), x=(0.0, 0.01), y=(0.0, -0.01), angle=(0.0, -3.0)),
    "环绕主体": Motion(zoom=(1.1, 1.1), x=(-0.04, 0.04), angle=(1.5, -1.5), bulge=0.05),
    "360度环绕": Motion(zoom=(1.14, 1.14), x=(-0.06, 0.06), angle=(2.5, -2.5), bulge=0.06),
    "锁定跟随": Motion(zoom=(1.04, 1.12), x=(-0.01, 0.01)),
    "固定镜头": Motion(zoom=(1.0, 1.03)),
}

#: Terms whose direction is free: an odd seed mirrors them so neighbouring shots vary.
_MIRRORABLE = {"水平横移", "左右摇镜", "环绕主体", "360度环绕", "锁定跟随"}

#: Loose words (English labels, synonyms) → camera term; first match wins.
_ALIASES: list[tuple[tuple[str, ...], str]] = [
    (("push", "zoom in", "zoom-in", "dolly in", "推"), "推镜头"),
    (("pull", "zoom out", "zoom-out", "dolly out", "拉"), "拉镜头"),
    (("360",), "360度环绕"),
    (("orbit", "arc", "around", "环绕"), "环绕主体"),
    (("rotate left", "roll left", "左旋"), "左旋转"),
    (("rotate", "roll", "旋转"), "右旋转"),
    (("crane", "pedestal", "vertical", "升降"), "垂直升降"),
    (("tilt", "上下"), "上下摇镜"),
    (("truck", "track", "slide", "horizontal", "横移"), "水平横移"),
    (("pan", "摇"), "左右摇镜"),
    (("follow", "lock", "跟"), "锁定跟随"),
]


def camera_term(camera: str) -> str:
    """The camera term nearest to `camera` (a term, its English label, or a synonym); default fixed."""
    text = camera.strip()
    if text in CAMERA_TERMS:
        return text
    lowered = text.lower()
    for term, label in CAMERA_TERMS.items():
        if lowered == label.lower():
            return term
    for words, term in _ALIASES:
        if any(word in lowered for word in words):
            return term
    return "固定镜头"


def motion_for(camera: str, seed: int = 0) -> Motion:
    """The move for a camera term or label; unknown terms get the gentle fixed-camera drift."""
    term = camera_term(camera)
    motion = MOTIONS[term]
    return motion.mirrored() if term in _MIRRORABLE and seed % 2 else motion


def window_corners(motion: Motion, width: int, height: int, e: float) -> list[tuple[float, float]]:
    """Source points seen at the output's corners (TL, TR, BL, BR) at eased progress `e` (0..1)."""
    z = _lerp(motion.zoom, e) + motion.bulge * math.sin(math.pi * e)
    cx = width * (0.5 + _lerp(motion.x, e))
    cy = height * (0.5 + _lerp(motion.y, e))
    a = math.radians(_lerp(motion.angle, e))
    corners = []
    for dx, dy in _half_corners(width, height):
        corners.append((cx + (dx * math.cos(a) - dy * math.sin(a)) / z, cy + (dx * math.sin(a) + dy * math.cos(a)) / z))
    return corners


def output_point(motion: Motion, width: int, height: int, e: float, point: tuple[float, float]) -> tuple[float, float]:
    """Where a point of the still is seen in the output frame at eased progress `e` (0..1): the inverse
    of `window_corners`. It may fall outside the frame (cropped at that moment)."""
    z = _lerp(motion.zoom, e) + motion.bulge * math.sin(math.pi * e)
    cx = width * (0.5 + _lerp(motion.x, e))
    cy = height * (0.5 + _lerp(motion.y, e))
    a = math.radians(_lerp(motion.angle, e))
    dx, dy = point[0] - cx, point[1] - cy
    x = width / 2 + z * (dx * math.cos(a) + dy * math.sin(a))
    return x, height / 2 + z * (-dx * math.sin(a) + dy * math.cos(a))


def every_move(width: int, height: int) -> list[Motion]:
    """Every move a clip of this size can make: each camera term, both ways where mirrored, as played."""
    moves = [fit_motion(MOTIONS[term], width, height) for term in MOTIONS]
    moves += [fit_motion(MOTIONS[term].mirrored(), width, height) for term in sorted(_MIRRORABLE)]
    return moves


def fit_motion(motion: Motion, width: int, height: int, steps: int = 24) -> Motion:
    """`motion` with its zoom raised just enough that the window never leaves the still."""
    fitted = motion
    for _ in range(200):
        if all(_inside(fitted, width, height, i / steps) for i in range(steps + 1)):
            return fitted
        fitted = replace(fitted, zoom=(fitted.zoom[0] * 1.01, fitted.zoom[1] * 1.01))
    return fitted


def perspective_filter(motion: Motion, width: int, height: int, frames: int, var: str = "in") -> str:
    """The `perspective` filter that plays `motion` over `frames` frames (`var` = frame index).

    The expressions use only numbers, + - * /, sin and cos, so tests can evaluate them in Python.
    """
    p = f"{var}/{max(frames - 1, 1)}"
    e = f"({p})*({p})*(3-2*{p})"  # smoothstep easing
    z = _expr(motion.zoom, e)
    if motion.bulge:
        z = f"({z}+{_num(motion.bulge)}*sin({_num(math.pi)}*{e}))"
    cx = _expr((width * (0.5 + motion.x[0]), width * (0.5 + motion.x[1])), e)
    cy = _expr((height * (0.5 + motion.y[0]), height * (0.5 + motion.y[1])), e)
    a = _expr((math.radians(motion.angle[0]), math.radians(motion.angle[1])), e)
    coords = []
    for i, (dx, dy) in enumerate(_half_corners(width, height)):
        if motion.angle == (0.0, 0.0):
            rx, ry = _num(dx), _num(dy)
        else:
            rx = f"({_num(dx)}*cos({a})-{_num(dy)}*sin({a}))"
            ry = f"({_num(dx)}*sin({a})+{_num(dy)}*cos({a}))"
        coords.append(f"x{i}='{cx}+{rx}/{z}':y{i}='{cy}+{ry}/{z}'")
    return "perspective=" + ":".join(coords) + ":interpolation=linear:eval=frame"


def kenburns_args(request: ClipRequest, out_path: Path, *, crf: int = 23, preset: str = "veryfast",
                  out_size: tuple[int, int] | None = None) -> list[str]:
    """FFmpeg arguments (after `ffmpeg -y`) that turn the keyframe into the clip; with `out_size`, the move is
    made at the request's size and then scaled to `out_size` (lanczos), in the same encode."""
    w, h, fps = request.width, request.height, request.fps
    if w <= 0 or h <= 0 or w % 2 or h % 2:
        raise ValueError(f"clip size must be positive and even, got {w}x{h}")
    if fps <= 0 or request.duration <= 0:
        raise ValueError(f"need fps > 0 and duration > 0, got {fps} fps, {request.duration} s")
    frames = max(1, round(request.duration * fps))
    motion = fit_motion(motion_for(request.camera, request.seed), w, h)
    chain = [
        f"scale={w}:{h}:force_original_aspect_ratio=increase:flags=lanczos",
        f"crop={w}:{h}",
        "setsar=1",
        "format=yuv420p",
        f"loop=loop={frames - 1}:size=1:start=0",
        f"settb=1/{fps}",
        "setpts=N",
        perspective_filter(motion, w, h, frames),
    ]
    if out_size is not None and out_size != (w, h):
        chain.append(f"scale={out_size[0]}:{out_size[1]}:flags=lanczos")
    return [
        "-i", str(request.keyframe_path),
        "-vf", ",".join(chain),
        "-frames:v", str(frames), "-r", str(fps), "-an",
        "-c:v", "libx264", "-preset", preset, "-crf", str(crf), "-pix_fmt", "yuv420p",
        "-movflags", "+faststart",
        str(out_path),
    ]  # fmt: skip


class KenBurnsAnimator:
    """Clip backend that pans/zooms/rolls over the keyframe following the shot's camera term.

    Encoder settings come from `settings` (VIDEO_CRF, VIDEO_PRESET, FFMPEG_TIMEOUT_S) unless given.
    """

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        crf: int | None = None,
        preset: str | None = None,
        timeout_s: float | None = None,
    ):
        self.crf = crf if crf is not None else settings.compose.crf if settings else 23
        self.preset = preset or (settings.compose.preset if settings else "veryfast")
        self.timeout_s = timeout_s or (settings.compose.timeout_s if settings else 600.0)

    async def animate(self, request: ClipRequest, out_path: Path) -> None:
        """Write an H.264 MP4 (no audio) of request.duration seconds to `out_path`."""
        out_path.parent.mkdir(parents=True, exist_ok=True)
        args = kenburns_args(request, out_path, crf=self.crf, preset=self.preset)
        await run_ffmpeg(args, timeout_s=self.timeout_s)

    async def ready(self) -> Readiness:
        """Ready when ffmpeg is installed."""
        return binary_readiness("ffmpeg")

    async def aclose(self) -> None:
        """Nothing to close: each call runs its own FFmpeg process."""


def create(settings: Settings) -> KenBurnsAnimator:
    """The embedded clip backend configured from settings."""
    return KenBurnsAnimator(settings)


def _lerp(pair: Pair, e: float) -> float:
    return pair[0] + (pair[1] - pair[0]) * e


def _expr(pair: Pair, e: str) -> str:
    start, delta = pair[0], pair[1] - pair[0]
    return _num(start) if abs(delta) < 1e-9 else f"({_num(start)}+{_num(delta)}*{e})"


def _num(value: float) -> str:
    text = f"{value:.7g}"
    return f"({text})" if value < 0 else text


def _half_corners(width: int, height: int) -> list[tuple[float, float]]:
    hw, hh = width / 2, height / 2
    return [(-hw, -hh), (hw, -hh), (-hw, hh), (hw, hh)]


def _inside(motion: Motion, width: int, height: int, e: float, tol: float = 0.5) -> bool:
    return all(
        -tol <= x <= width + tol and -tol <= y <= height + tol for x, y in window_corners(motion, width, height, e)
    )
