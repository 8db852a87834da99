"""Digests of the inputs each derived asset is made from: a changed input makes it stale.

Staleness is derived, not flagged: a clip is current when its stored fingerprint equals the one
its shot would have now, so any edit (new keyframe version, new narration, new size) shows up.
"""

from __future__ import annotations

import hashlib
import json
import math
from typing import Any

from app.core.settings import Settings
from app.models.story import Shot, Story


def digest(*parts: Any) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, ensure_ascii=False).encode()).hexdigest()[:16]


def audio_fingerprint(shot: Shot, story: Story, settings: Settings) -> str:
    voices = (settings.TTS_VOICE_ZH, settings.TTS_VOICE_EN, settings.TTS_WORDS_PER_MINUTE,
              settings.TTS_WORDS_PER_MINUTE_ZH)
    return digest("audio", shot.narration, story.language, shot.tone, voices, settings.provider_for("tts"))


def shot_duration(narration_s: float, settings: Settings) -> float:
    """Narration plus air, at least the minimum, rounded up to a whole frame."""
    seconds = max(settings.SHOT_MIN_S, narration_s + settings.SHOT_AIR_S)
    return math.ceil(seconds * settings.VIDEO_FPS - 1e-6) / settings.VIDEO_FPS


def clip_fingerprint(shot: Shot, story: Story, settings: Settings, duration: float) -> str:
    keyframe = shot.keyframe.key if shot.keyframe else None
    return digest("clip", keyframe, shot.camera, shot.detail, duration, story.aspect_ratio,
                  settings.VIDEO_WIDTH, settings.VIDEO_HEIGHT, settings.VIDEO_FPS, settings.provider_for("video"))


def audio_is_current(shot: Shot, story: Story, settings: Settings) -> bool:
    audio = shot.audio
    return audio is not None and not audio.degraded and audio.fingerprint == audio_fingerprint(shot, story, settings)


def clip_is_current(shot: Shot, story: Story, settings: Settings) -> bool:
    if shot.clip is None or shot.clip.degraded or shot.audio is None or not audio_is_current(shot, story, settings):
        return False
    duration = shot_duration(shot.audio.duration or 0.0, settings)
    return shot.clip.fingerprint == clip_fingerprint(shot, story, settings, duration)


def video_fingerprint(story: Story, settings: Settings) -> str:
    shots = [(s.id, s.clip.fingerprint if s.clip else None, s.audio.fingerprint if s.audio else None,
              s.narration) for s in story.shots]
    return digest("video", shots, settings.BURN_SUBTITLES, settings.SUBTITLE_FONT, settings.VIDEO_CRF,
                  settings.VIDEO_PRESET)


def video_is_current(story: Story, settings: Settings) -> bool:
    fresh = all(clip_is_current(s, story, settings) for s in story.shots)
    return fresh and story.video is not None and story.video.fingerprint == video_fingerprint(story, settings)
