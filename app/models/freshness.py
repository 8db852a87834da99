"""Digests of the inputs each derived asset is made from (a changed input makes it stale), and frame sizes.

Staleness is derived, not flagged: a clip is current when its stored fingerprint equals the one
its shot would have now, so any edit (new keyframe version, new narration, new size) shows up.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
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


def compose_options(story: Story, settings: Settings, render: RenderChoice) -> ComposeOptions:
    """How the story's film is composed: the settings, overridden by the render's choices.

    An override named like a compose option replaces it as it is; `resolution` and `bgm` are translated."""
    chosen = as_overrides(render).chosen()
    width, height = output_size(story.aspect_ratio, settings, chosen.pop("resolution", None))
    bgm = chosen.pop("bgm", settings.film.DEFAULT_BGM)
    music = settings.music_dir / bgm if bgm and bgm.lower() not in NO_MUSIC else None
    return settings.compose.with_changes(**chosen, width=width, height=height, music_path=music)


def video_fingerprint(story: Story, settings: Settings, render: RenderChoice | None = None) -> str:
    """Digest of the shots' assets and narration and of every composition option (music by name)."""
    shots = [(s.id, s.clip.fingerprint if s.clip else None, s.audio.fingerprint if s.audio else None,
              s.narration) for s in story.shots]
    options = compose_options(story, settings, render or RenderOverrides()).fingerprint_fields()
    options["music_path"] = Path(options["music_path"]).name if options["music_path"] else None
    return digest("video", shots, options)


def video_is_current(story: Story, settings: Settings) -> bool:
    fresh = all(clip_is_current(s, story, settings) for s in story.shots)
    video = story.video
    return fresh and video is not None and video.fingerprint == video_fingerprint(
        story, settings, video.render_options)
