"""What the studio pages show, shaped from the state store and the public JSON views (presenter)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, get_args

from app.api.presenter import Presenter
from app.core.settings import Settings
from app.core.settings.composition import Transition
from app.models.operation import Operation, OperationStatus
from app.models.render import Resolution
from app.models.requests import MUSIC_SUFFIXES
from app.models.story import Story
from app.models.storyboard import CAMERA_TERMS
from app.state.store import StateStore

#: Order of the studio's operation list: what needs attention first.
STATUS_RANK = {OperationStatus.running: 0, OperationStatus.queued: 1, OperationStatus.failed: 2,
               OperationStatus.cancelled: 3, OperationStatus.succeeded: 4}
TYPE_LABELS = {"story_create": "create", "shot_regen": "regenerate", "video_render": "render"}


@dataclass(frozen=True)
class Overview:
    operations: list[dict[str, Any]]
    stories: list[dict[str, Any]]
    counts: dict[str, int]


def _newest_first(op: Operation) -> float:
    return -op.updated_at.timestamp()


async def overview(store: StateStore, presenter: Presenter, limit: int) -> Overview:
    """The most recent operations (running, queued and failed first) and the stories they belong to."""
    ops = await store.list_operations()
    counts = {status.value: 0 for status in OperationStatus}
    for op in ops:
        counts[op.status.value] += 1
    ops.sort(key=lambda op: (STATUS_RANK[op.status], _newest_first(op)))
    shown = ops[:limit]
    story_ids = list(dict.fromkeys(op.story_id for op in sorted(ops, key=_newest_first)))[:limit]
    stories: dict[str, Story] = {}
    for story_id in story_ids:
        story = await store.get_story(story_id)
        if story is not None:
            stories[story_id] = story
    return Overview(operations=[operation_row(op, stories.get(op.story_id), presenter) for op in shown],
                    stories=[story_row(story, presenter) for story in stories.values()], counts=counts)


def operation_row(op: Operation, story: Story | None, presenter: Presenter) -> dict[str, Any]:
    view = presenter.operation(op, None)
    return {**view, "type_label": TYPE_LABELS.get(op.type, op.type), "title": story.display_name if story else "",
            "active": not op.status.terminal, "age": _age(op.updated_at)}


def story_row(story: Story, presenter: Presenter) -> dict[str, Any]:
    first = story.shots[0].keyframe if story.shots and story.shots[0].keyframe else None
    return {"story_id": story.story_id, "title": story.display_name, "style": story.style, "status": story.status,
            "shots": len(story.shots), "has_video": story.video is not None,
            "thumbnail": presenter.storage.url(first.key) if first else None, "age": _age(story.updated_at)}


def story_page(story: Story, ops: list[Operation], presenter: Presenter, settings: Settings) -> dict[str, Any]:
    """The story as the API shows it, plus keyframe history, its operations and the render choices."""
    view = presenter.story(story)
    for shot_view, shot in zip(view["shots"], story.shots, strict=True):
        shot_view["versions"] = [{"version": k.version, "url": presenter.storage.url(k.key),
                                  "current": shot.keyframe is not None and k.version == shot.keyframe.version}
                                 for k in sorted(shot.keyframe_history, key=lambda k: k.version)]
        shot_view["characters"] = shot.characters
    ops = sorted(ops, key=_newest_first)
    return {
        "story": view,
        "operations": [operation_row(op, story, presenter) for op in ops[:20]],
        "active": [op.operation_id for op in ops if not op.status.terminal],
        "cameras": list(CAMERA_TERMS.items()),
        "transitions": list(get_args(Transition)),
        "resolutions": list(get_args(Resolution)),
        "music": music_files(settings),
        "lang": "zh-CN" if story.language == "zh" else "en",
    }


def music_files(settings: Settings) -> list[str]:
    folder = settings.music_dir
    if not folder.is_dir():
        return []
    return sorted(p.name for p in folder.iterdir() if p.suffix.lower() in MUSIC_SUFFIXES)[:200]


def _age(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")
