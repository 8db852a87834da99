"""Request bodies of the three POST endpoints: the upstream fields, plus optional extras."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, model_validator

from app.core.errors import InvalidInput
from app.core.ids import Identifier
from app.models.render import NO_MUSIC, RenderOverrides

AspectRatio = Literal["16:9", "9:16", "1:1"]
ShortText = Field(default=None, max_length=2000)


class OperationRequest(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    operation_id: Identifier
    story_id: Identifier
    user_id: Identifier
    callback_url: HttpUrl | None = Field(None, description="Overrides CALLBACK_URL; host must be allow-listed")

    def digest(self) -> str:
        """Fingerprint of the request, for idempotency: same id + same digest = same operation."""
        canonical = json.dumps(self.model_dump(mode="json"), sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(canonical.encode()).hexdigest()


class CreateStoryboardRequest(OperationRequest):
    display_name: str = Field(max_length=200)
    script_content: str = Field(min_length=1, description="A one-line premise or a full story")
    style: str = Field("", max_length=200)
    aspect_ratio: AspectRatio = "16:9"

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "operation_id": "op-001",
                    "story_id": "story-001",
                    "user_id": "u-001",
                    "display_name": "温馨短片",
                    "script_content": "小狗找妈妈的故事",
                    "style": "温馨可爱",
                }
            ]
        }
    )


#: The shot fields a regenerate may edit; a blank one keeps the stored value.
EDIT_FIELDS = ("detail", "subject", "camera", "narration", "tone", "style")


class RegenerateShotRequest(OperationRequest):
    shot_id: Identifier
    detail: str | None = ShortText
    subject: str | None = Field(None, max_length=500)
    camera: str | None = Field(None, max_length=50)
    narration: str | None = Field(None, max_length=500)
    tone: str | None = Field(None, max_length=50)
    style: str | None = Field(None, max_length=200)

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "operation_id": "op-003",
                    "story_id": "story-001",
                    "shot_id": "shot_03",
                    "user_id": "u-001",
                    "detail": "动画风格。冷暖交织的侧光，高对比度阴影。画面中央，小狗先绕着屋子转圈，"
                    "然后冲向门口，最后停在门框前，眼睛里带着疑惑。",
                    "style": "温馨可爱",
                }
            ]
        }
    )

    @model_validator(mode="before")
    @classmethod
    def _fold_detail_aliases(cls, data: Any) -> Any:
        """`details` and `prompt` are older names of `detail` (first non-empty wins). A blank edit field
        is no edit: the upstream backend sends every field as a string, `""` when the user left it alone."""
        if not isinstance(data, dict):
            return data
        data = dict(data)
        if not data.get("detail"):
            data["detail"] = data.get("details") or data.get("prompt") or data.get("detail")
        for field in EDIT_FIELDS:
            if isinstance(data.get(field), str) and not data[field].strip():
                data[field] = None
        return data


class RenderVideoRequest(OperationRequest, RenderOverrides):
    """A render: the request fields and every render override (RenderOverrides), enhancement included."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"operation_id": "op-004", "story_id": "story-001", "user_id": "u-001"}]}
    )

    def composition(self) -> dict[str, Any]:
        """The render overrides this request sets (those left unset follow the settings)."""
        return RenderOverrides.of(self.model_dump()).chosen()


MUSIC_SUFFIXES = frozenset({".mp3", ".m4a", ".aac", ".wav", ".ogg", ".opus", ".flac"})


def check_music_name(name: str | None, folder: Path) -> None:
    """Raise InvalidInput `bgm_not_found` unless `name` is unset, "none", or a music file in `folder`."""
    if name is None or name.lower() in NO_MUSIC:
        return
    plain = name == Path(name).name and not name.startswith(".")
    if plain and Path(name).suffix.lower() in MUSIC_SUFFIXES and (folder / name).is_file():
        return
    available = sorted(p.name for p in folder.glob("*") if p.suffix.lower() in MUSIC_SUFFIXES)[:50]
    raise InvalidInput("bgm_not_found", f"no background music named {name!r}", {"available": available})
