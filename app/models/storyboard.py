"""What a planner produces: the cast and the shots of a story, before any asset exists."""

from __future__ import annotations

from pydantic import BaseModel, Field

#: The upstream's 12 camera terms (the LLM prompt's fixed vocabulary), Chinese first, English label.
CAMERA_TERMS: dict[str, str] = {
    "垂直升降": "vertical crane",
    "水平横移": "horizontal truck",
    "推镜头": "push-in",
    "拉镜头": "pull-back",
    "上下摇镜": "tilt up/down",
    "左旋转": "rotate left",
    "右旋转": "rotate right",
    "环绕主体": "orbit subject",
    "360度环绕": "360° orbit",
    "锁定跟随": "lock-on follow",
    "固定镜头": "fixed",
    "左右摇镜": "pan left/right",
}


class Character(BaseModel):
    """A member of the cast with a fixed look that every image prompt showing them repeats."""

    name: str
    look: str = Field(description="Fixed visual description, reused verbatim in image prompts")


class PlannedShot(BaseModel):
    """One shot as planned; field names are the ones the business backend maps."""

    subject: str
    detail: str = Field(description="Style + lighting + first/then/finally motion + setting")
    image_detail: str = Field(description="A still frame for text-to-image; no time words")
    camera: str = Field(description="One of CAMERA_TERMS")
    narration: str
    tone: str
    characters: list[str] = Field(default_factory=list, description="Names of the cast in this shot")
    #: provider-specific rewrites of the motion prompt by language ("en" for HunyuanVideo, "zh" for wan),
    #: written by LLM planners next to the shot; never written over the user-facing `detail`
    prompts: dict[str, str] = Field(default_factory=dict, description="Motion prompt rewrites by language")


class Storyboard(BaseModel):
    """A planner's result: 4–12 shots in story order plus the cast."""

    title: str = ""
    language: str = Field("zh", description="'zh' or 'en': the narration language")
    characters: list[Character] = Field(default_factory=list)
    shots: list[PlannedShot] = Field(min_length=1)


class ShotEdit(BaseModel):
    """A user's edit of one shot (regenerate); unset fields keep the stored value."""

    detail: str | None = None
    subject: str | None = None
    camera: str | None = None
    narration: str | None = None
    tone: str | None = None
    style: str | None = None
