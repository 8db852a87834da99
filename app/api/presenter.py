"""Public JSON views of stories and operations; object keys become URLs here, at read time."""

from __future__ import annotations

from typing import Any

from app.core.settings import Settings
from app.models import freshness as fingerprints
from app.models.operation import Operation, OperationType
from app.models.story import Shot, Story
from app.services.publish.base import ObjectStore

API_PREFIX = "/api/v1"


class Presenter:
    def __init__(self, storage: ObjectStore, settings: Settings):
        self.storage = storage
        self.settings = settings

    def _url(self, key: str | None) -> str | None:
        return self.storage.url(key) if key else None

    def shot(self, shot: Shot, story: Story) -> dict[str, Any]:
        return {
            "id": shot.id,
            "sequence": shot.sequence,
            "subject": shot.subject,
            "detail": shot.detail,
            "image_detail": shot.image_detail,
            "camera": shot.camera,
            "narration": shot.narration,
            "tone": shot.tone,
            "status": shot.status,
            "image_url": self._url(shot.keyframe.key if shot.keyframe else None),
            "keyframe_version": shot.keyframe.version if shot.keyframe else None,
            "video_url": self._url(shot.clip.key if shot.clip else None),
            "audio_url": self._url(shot.audio.key if shot.audio else None),
            "duration": shot.clip.duration if shot.clip else None,
            "clip_stale": shot.clip is not None and not fingerprints.clip_is_current(shot, story, self.settings),
            "degraded": shot.degraded or None,
        }

    def story(self, story: Story) -> dict[str, Any]:
        video = story.video
        return {
            "story_id": story.story_id,
            "user_id": story.user_id,
            "display_name": story.display_name,
            "style": story.style,
            "status": story.status,
            "language": story.language,
            "aspect_ratio": story.aspect_ratio,
            "characters": [c.model_dump() for c in story.characters],
            "shots": [self.shot(s, story) for s in story.shots],
            "degraded": story.degraded or None,
            "video_url": self._url(video.key if video else None),
            "subtitle_url": self._url(video.subtitle_key if video else None),
            "subtitle_vtt_url": self._url(video.vtt_key if video else None),
            "cover_url": self._url(video.cover_key if video else None),
            "duration": video.duration if video else None,
            "contact_sheet_url": self._url(story.contact_sheet.key if story.contact_sheet else None),
            "video_stale": video is not None and not fingerprints.video_is_current(story, self.settings),
            "created_at": story.created_at.isoformat(),
            "updated_at": story.updated_at.isoformat(),
        }

    def result(self, op: Operation, story: Story | None) -> dict[str, Any] | None:
        if op.result is None or story is None:
            return None
        if op.type is OperationType.story_create:
            return {"story_id": story.story_id, "shots": [self.shot(s, story) for s in story.shots],
                    "degraded": story.degraded or None, "degraded_shots": degraded_shots(story),
                    "contact_sheet_url": self._url(op.result.get("contact_sheet_key")),
                    "stage_seconds": op.stage_seconds}
        if op.type is OperationType.shot_regen:
            shot = story.shot(op.result["shot_id"])
            return {
                "shot": self.shot(shot, story) if shot else None,
                "keyframe_version": op.result["keyframe_version"],
                "image_url": self._url(op.result["keyframe_key"]),
                "contact_sheet_url": self._url(op.result.get("contact_sheet_key")),
                "stage_seconds": op.stage_seconds,
            }
        return {
            "video_url": self._url(op.result["video_key"]),
            "subtitle_url": self._url(op.result["subtitle_key"]),
            "subtitle_vtt_url": self._url(op.result.get("subtitle_vtt_key")),
            "cover_url": self._url(op.result["cover_key"]),
            "duration": op.result["duration"],
            "shots": [self.shot(s, story) for s in story.shots],
            "degraded_shots": degraded_shots(story),
            "contact_sheet_url": self._url(story.contact_sheet.key if story.contact_sheet else None),
            "stage_seconds": op.stage_seconds,
        }

    def operation(self, op: Operation, story: Story | None) -> dict[str, Any]:
        return {
            "operation_id": op.operation_id,
            "type": op.type,
            "status": op.status,
            "story_id": op.story_id,
            "stage": op.progress.stage,
            "progress": op.progress.view(),
            "error": op.error.model_dump() if op.error else None,
            "result": self.result(op, story),
            "stage_seconds": op.stage_seconds,
            "created_at": op.created_at.isoformat(),
            "updated_at": op.updated_at.isoformat(),
            "started_at": op.started_at.isoformat() if op.started_at else None,
            "finished_at": op.finished_at.isoformat() if op.finished_at else None,
            "links": {
                "self": f"{API_PREFIX}/operations/{op.operation_id}",
                "story": f"{API_PREFIX}/stories/{op.story_id}",
            },
        }



def degraded_shots(story: Story) -> list[dict[str, str]]:
    """Every shot asset a fallback backend made, with the stage and the reason."""
    return [{"shot_id": shot.id, "stage": stage, "reason": reason}
            for shot in story.shots for stage, reason in shot.degraded.items()]
