"""Public JSON views of stories and operations; object keys become URLs here, at read time.

Two families of views: the asynchronous API's (`operation`, `story`, `result`), and the synchronous
answers (`answer`, `outcome_error`) in the shape the upstream Go backend decodes — `{operation, shots}`,
`{operation, shot}`, `{operation, video_url}` — where every shot field it knows is a string but
`sequence`, and nothing else of a type it would refuse is sent.
"""

from __future__ import annotations

from typing import Any

from app.core.errors import OperationCancelled, OperationFailed, OperationOutcome, OperationTimeout
from app.core.ids import ShotIdFormat, shown_shot_id
from app.core.settings import Settings
from app.models import freshness as fingerprints
from app.models.operation import Operation, OperationStatus, OperationType
from app.models.story import Shot, Story
from app.services.publish.base import ObjectStore

API_PREFIX = "/api/v1"
#: The shot fields of a synchronous answer: strings (or null) all, but `sequence` (an int).
SYNC_SHOT_TEXT = ("subject", "detail", "image_detail", "camera", "narration", "tone")


class Presenter:
    def __init__(self, storage: ObjectStore, settings: Settings):
        self.storage = storage
        self.settings = settings

    @property
    def shot_format(self) -> ShotIdFormat:
        return self.settings.answers.SHOT_ID_FORMAT

    def _url(self, key: str | None) -> str | None:
        return self.storage.url(key) if key else None

    def shot_name(self, story_id: str, shot_id: str | None) -> str | None:
        """The id clients are shown for a stored (short) shot id, under SHOT_ID_FORMAT."""
        return shown_shot_id(story_id, shot_id, self.shot_format) if shot_id else shot_id

    def shot(self, shot: Shot, story: Story) -> dict[str, Any]:
        return {
            "id": shot.shown_id(self.shot_format),
            "uuid": shot.uuid,
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
                    "degraded": story.degraded or None, "degraded_shots": self.degraded_shots(story),
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
            "degraded_shots": self.degraded_shots(story),
            "contact_sheet_url": self._url(story.contact_sheet.key if story.contact_sheet else None),
            "stage_seconds": op.stage_seconds,
            "enhancement": self.enhancement(op.result.get("enhancement"), story),
        }

    def enhancement(self, summary: dict[str, Any] | None, story: Story) -> dict[str, Any] | None:
        """A render's enhancement summary with its shot ids shown under SHOT_ID_FORMAT (None: rendered before
        enhancement existed)."""
        if summary is None:
            return None

        def shown(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
            return [{**item, "shot_id": self.shot_name(story.story_id, item.get("shot_id"))} for item in items]

        return {**summary, **{key: shown(summary[key]) for key in ("shots", "not_enhanced") if key in summary}}

    def operation(self, op: Operation, story: Story | None, *, queue_position: int | None = None) -> dict[str, Any]:
        return {
            "operation_id": op.operation_id,
            "type": op.type,
            "status": op.status,
            "story_id": op.story_id,
            "stage": op.progress.stage,
            "progress": op.progress.view(lambda shot_id: shown_shot_id(op.story_id, shot_id, self.shot_format)),
            "queue_position": queue_position,
            "error": self._error(op),
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

    def degraded_shots(self, story: Story) -> list[dict[str, str]]:
        """Every shot asset a fallback backend made, with the stage and the reason."""
        return [{"shot_id": shot.shown_id(self.shot_format), "stage": stage, "reason": reason}
                for shot in story.shots for stage, reason in shot.degraded.items()]

    def _error(self, op: Operation) -> dict[str, Any] | None:
        if op.error is None:
            return None
        return {**op.error.model_dump(), "shot_id": self.shot_name(op.story_id, op.error.shot_id)}

    # ----------------------------------------------------------------- synchronous answers

    def sync_shot(self, shot: Shot, *, image_key: str | None = None) -> dict[str, Any]:
        """A shot as the upstream backend decodes it: strings or null, `sequence` an int.

        `id` is the SHOT_ID_FORMAT id (the backend keeps it only if it parses as a UUID), `uuid` always
        the UUID; numbers, booleans and objects of the full view (duration, keyframe_version…) are left out."""
        keyframe = image_key or (shot.keyframe.key if shot.keyframe else None)
        return {
            "id": shot.shown_id(self.shot_format),
            "uuid": shot.uuid,
            "sequence": shot.sequence,
            **{name: getattr(shot, name) for name in SYNC_SHOT_TEXT},
            "status": str(shot.status),
            "image_url": self._url(keyframe),
            "video_url": self._url(shot.clip.key if shot.clip else None),
            "audio_url": self._url(shot.audio.key if shot.audio else None),
        }

    def sync_operation(self, op: Operation, story: Story | None) -> dict[str, Any]:
        """`{operation_id, status, detail}` (all strings; detail null unless there is something to say)."""
        degraded = self.degraded_shots(story) if story is not None else []
        detail = None
        if op.error is not None:
            detail = op.error.message
        elif degraded:
            detail = "made by a fallback backend: " + "; ".join(
                f"{d['shot_id']} {d['stage']} ({d['reason']})" for d in degraded)
        return {"operation_id": op.operation_id, "status": str(op.status), "detail": detail,
                "type": str(op.type), "story_id": op.story_id}

    def answer(self, op: Operation, story: Story | None) -> dict[str, Any]:
        """The 200 answer of a request that waited for its operation to succeed, by operation type:
        create `{operation, shots}`, regenerate `{operation, shot}` (its new version), render
        `{operation, video_url, …}` (the published film; `video_data` is never sent)."""
        operation = self.sync_operation(op, story)
        result = op.result or {}
        if op.type is OperationType.story_create:
            return {"operation": operation, "story_id": op.story_id,
                    "shots": [self.sync_shot(s) for s in story.shots] if story else []}
        if op.type is OperationType.shot_regen:
            shot = story.shot(result.get("shot_id", "")) if story else None
            return {"operation": operation, "story_id": op.story_id,
                    "shot": self.sync_shot(shot, image_key=result.get("keyframe_key")) if shot else None}
        return {
            "operation": operation,
            "story_id": op.story_id,
            "video_url": self._url(result.get("video_key")),
            "subtitle_url": self._url(result.get("subtitle_key")),
            "subtitle_vtt_url": self._url(result.get("subtitle_vtt_key")),
            "cover_url": self._url(result.get("cover_key")),
            "duration": result.get("duration"),
        }

    def outcome_error(self, op: Operation, *, waited_s: float, headers: dict[str, str],
                      stopping: bool = False) -> OperationOutcome:
        """The error answer of a request whose operation failed, was cancelled, or outlived the wait
        (or the service, `stopping`: it resumes at the next start)."""
        details: dict[str, Any] = {"status": str(op.status), "stage": op.progress.stage,
                                   "links": {"self": f"{API_PREFIX}/operations/{op.operation_id}"}}
        if op.status is OperationStatus.cancelled:
            return OperationCancelled("operation_cancelled", f"operation {op.operation_id} was cancelled",
                                      operation_id=op.operation_id, details=details, headers=headers)
        if op.status is OperationStatus.failed:
            error = self._error(op) or {"code": "operation_failed", "message": "the operation failed"}
            return OperationFailed(error["code"], error["message"], operation_id=op.operation_id,
                                   details={**details, "shot_id": error.get("shot_id")}, headers=headers)
        details["progress"] = {"done": op.progress.done, "total": op.progress.total, "percent": op.progress.percent}
        where = f"{op.progress.stage}, {op.progress.percent:g}%"
        goes_on = ("the service is stopping; it resumes when the service is back" if stopping else "it goes on")
        return OperationTimeout(
            "operation_timeout",
            f"operation {op.operation_id} is still {op.status} after {waited_s:.0f} s ({where}); {goes_on}: "
            "send the same request again to wait for its result",
            operation_id=op.operation_id, details=details, headers=headers)
