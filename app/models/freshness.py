"""Digests of the inputs each derived asset is made from (a changed input makes it stale), and frame sizes.

Staleness is derived, not flagged: a clip is current when its stored fingerprint equals the one
its shot would have now, so any edit (new keyframe version, new narration, new size) shows up.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.core.settings import ComposeOptions, Settings
from app.models.render import NO_MUSIC, RenderOverrides
from app.models.story import Shot, Story

#: A render's choices: the model, or as stored with the request or the video (a plain mapping).
RenderChoice = RenderOverrides | Mapping[str, Any]


def as_overrides(render: RenderChoice) -> RenderOverrides:
    return render if isinstance(render, RenderOverrides) else RenderOverrides.of(dict(render))


def digest(*parts: Any) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, ensure_ascii=False).encode()).hexdigest()[:16]


def audio_fingerprint(shot: Shot, story: Story, settings: Settings) -> str:
    voice = settings.espeak
    voices = (voice.TTS_VOICE_ZH, voice.TTS_VOICE_EN, voice.TTS_WORDS_PER_MINUTE, voice.TTS_WORDS_PER_MINUTE_ZH)
    return digest("audio", shot.narration, story.language, shot.tone, voices,
                  settings.stages.provider_for("narration"))


def shot_duration(narration_s: float, settings: Settings) -> float:
    """Narration plus air, at least the minimum, rounded up to a whole frame."""
    seconds = max(settings.film.SHOT_MIN_S, narration_s + settings.film.SHOT_AIR_S)
    return math.ceil(seconds * settings.compose.fps - 1e-6) / settings.compose.fps


def clip_fingerprint(shot: Shot, story: Story, settings: Settings, duration: float) -> str:
    keyframe = shot.keyframe.key if shot.keyframe else None
    return digest("clip", keyframe, shot.camera, shot.detail, shot.prompts, duration, story.aspect_ratio,
                  settings.compose.width, settings.compose.height, settings.compose.fps,
                  settings.stages.provider_for("clip"))


def audio_is_current(shot: Shot, story: Story, settings: Settings) -> bool:
    audio = shot.audio
    return audio is not None and not audio.degraded and audio.fingerprint == audio_fingerprint(shot, story, settings)


def clip_is_current(shot: Shot, story: Story, settings: Settings) -> bool:
    if shot.clip is None or shot.clip.degraded or shot.audio is None or not audio_is_current(shot, story, settings):
        return False
    duration = shot_duration(shot.audio.duration or 0.0, settings)
    return shot.clip.fingerprint == clip_fingerprint(shot, story, settings, duration)


#: 16:9 frame size for each `resolution` a render request may ask for (9:16 turns it, 1:1 squares it).
RESOLUTIONS = {"720p": (1280, 720), "1080p": (1920, 1080)}


def output_size(aspect_ratio: str, settings: Settings, resolution: str | None = None) -> tuple[int, int]:
    """Film frame size: the requested resolution (else VIDEO_WIDTH × VIDEO_HEIGHT) in the story's shape."""
    long_side, short_side = RESOLUTIONS[resolution] if resolution else (settings.compose.width,
                                                                        settings.compose.height)
    return {"16:9": (long_side, short_side), "9:16": (short_side, long_side), "1:1": (short_side, short_side)}[
        aspect_ratio
    ]


@dataclass(frozen=True)
class FilmFormat:
    """One render's film frame size and rate, and those of the clips the clip stage makes (the film's when
    not enhancing). When enhancing, each clip is enhanced to the film's size and rate before composition."""

    width: int
    height: int
    fps: int
    clip_width: int
    clip_height: int
    clip_fps: int
    enhance: bool = False

    @property
    def enhances_clips(self) -> bool:
        """Whether this render enhances clips (it is on, and the film differs from the clips in size or rate)."""
        film = (self.width, self.height, self.fps)
        return self.enhance and film != (self.clip_width, self.clip_height, self.clip_fps)

    @property
    def multi(self) -> int:
        """The frame-rate factor in effect (the cap may have lowered the asked one)."""
        return self.fps // self.clip_fps

    def describe(self) -> dict[str, Any]:
        return {"enhanced": self.enhances_clips, "width": self.width, "height": self.height, "fps": self.fps,
                "clip_width": self.clip_width, "clip_height": self.clip_height, "clip_fps": self.clip_fps}


def within_pixels(width: int, height: int, max_pixels: int) -> tuple[int, int]:
    """`width` × `height`, scaled down in its shape to at most `max_pixels` (even sides)."""
    if width * height <= max_pixels:
        return width, height
    factor = math.sqrt(max_pixels / (width * height))
    return max(16, int(width * factor) // 2 * 2), max(16, int(height * factor) // 2 * 2)


def film_format(aspect_ratio: str, settings: Settings, render: RenderChoice | None = None) -> FilmFormat:
    """The film's size and rate for a render's choices.

    Clips are made at VIDEO_WIDTH × VIDEO_HEIGHT (in the story's shape) and VIDEO_FPS. Not enhancing, the
    film has the requested `resolution` (the composition scales the clips to it) or the clips' size, at
    VIDEO_FPS. Enhancing (`enhance`, else ENHANCE), it runs at VIDEO_FPS × `multi` (lowered while above
    ENHANCE_MAX_FPS) and has the requested `resolution`, else the clips' size × `scale`, in either case
    scaled down in its shape to ENHANCE_MAX_PIXELS."""
    chosen = as_overrides(render or RenderOverrides())
    clip_width, clip_height = output_size(aspect_ratio, settings)
    fps = settings.compose.fps
    cfg = settings.enhance
    enhance = cfg.ENABLED if chosen.enhance is None else chosen.enhance
    if not enhance:
        width, height = output_size(aspect_ratio, settings, chosen.resolution)
        return FilmFormat(width, height, fps, clip_width, clip_height, fps)
    multi = chosen.multi or cfg.MULTI
    while multi > 1 and fps * multi > cfg.MAX_FPS:
        multi -= 1
    if chosen.resolution:
        width, height = output_size(aspect_ratio, settings, chosen.resolution)
    else:
        scale = chosen.scale or cfg.SCALE
        width, height = clip_width * scale, clip_height * scale
    width, height = within_pixels(width, height, cfg.MAX_PIXELS)
    return FilmFormat(width, height, fps * multi, clip_width, clip_height, fps, enhance=True)


def enhanced_fingerprint(shot: Shot, settings: Settings, film: FilmFormat) -> str:
    """Digest of the clip an enhanced clip is made from (this very version of it), the film format, and
    the enhance backend and engine choices."""
    clip = shot.clip
    made = (clip.fingerprint, clip.backend, clip.degraded, clip.created_at.isoformat()) if clip else None
    cfg = settings.enhance
    return digest("enhance", made, film.width, film.height, film.fps, cfg.provider(), cfg.EMBEDDED_INTERP,
                  cfg.RESYNTHESIZE)


def enhanced_matches(shot: Shot, settings: Settings, film: FilmFormat) -> bool:
    """Whether the shot's enhanced clip was made for this film from its current clip (by any backend)."""
    return shot.enhanced is not None and shot.enhanced.fingerprint == enhanced_fingerprint(shot, settings, film)


def enhanced_is_current(shot: Shot, settings: Settings, film: FilmFormat) -> bool:
    """`enhanced_matches`, and made by the configured backend (a fallback's is redone by the next render)."""
    return enhanced_matches(shot, settings, film) and shot.enhanced is not None and not shot.enhanced.degraded


def compose_options(story: Story, settings: Settings, render: RenderChoice) -> ComposeOptions:
    """How the story's film is composed: the settings, overridden by the render's choices.

    An override named like a compose option replaces it as it is; `resolution` and `bgm` are translated, and
    `enhance`, `multi`, `scale` and `resolution` together give the size and rate (`film_format`)."""
    overrides = as_overrides(render)
    chosen = overrides.chosen()
    for name in ("resolution", "enhance", "multi", "scale"):
        chosen.pop(name, None)
    film = film_format(story.aspect_ratio, settings, overrides)
    bgm = chosen.pop("bgm", settings.film.DEFAULT_BGM)
    music = settings.music_dir / bgm if bgm and bgm.lower() not in NO_MUSIC else None
    return settings.compose.with_changes(**chosen, width=film.width, height=film.height, fps=film.fps,
                                         music_path=music)


def video_fingerprint(story: Story, settings: Settings, render: RenderChoice | None = None) -> str:
    """Digest of the shots' assets and narration and of every composition option (music by name); when
    the render enhances, also of the enhanced clip each shot is composed from (None: its plain clip)."""
    film = film_format(story.aspect_ratio, settings, render)

    def enhanced(shot: Shot) -> list[Any]:
        if not film.enhances_clips:
            return []
        made = shot.enhanced if enhanced_matches(shot, settings, film) else None
        return [(made.fingerprint, made.backend, made.degraded) if made else None]

    shots = [(s.id, s.clip.fingerprint if s.clip else None, s.audio.fingerprint if s.audio else None,
              s.narration, *enhanced(s)) for s in story.shots]
    options = compose_options(story, settings, render or RenderOverrides()).fingerprint_fields()
    options["music_path"] = Path(options["music_path"]).name if options["music_path"] else None
    return digest("video", shots, options)


def video_is_current(story: Story, settings: Settings) -> bool:
    fresh = all(clip_is_current(s, story, settings) for s in story.shots)
    video = story.video
    if video is None or not fresh:
        return False
    film = film_format(story.aspect_ratio, settings, video.render_options)
    enhanced = not film.enhances_clips or all(enhanced_is_current(s, settings, film) for s in story.shots)
    return enhanced and video.fingerprint == video_fingerprint(story, settings, video.render_options)
