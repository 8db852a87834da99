"""Reading an LLM planner's reply: tolerant JSON extraction, then strict validation into our models.

Real replies arrive with leading blank lines, ```json fences, <think> blocks, full-width punctuation used
as JSON syntax (`"camera"："推镜头"，`), trailing commas, extra fields (`sound`), `sequence` as a string
and cameras given as English labels. Those are repaired here; what cannot be repaired (no JSON at all,
too few shots, an unknown camera, an empty field) raises `ReplyError`, whose text is fed back to the
model on the next attempt.
"""

from __future__ import annotations

import json
import re
from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, WithJsonSchema

from app.core.errors import ReplyError
from app.models.storyboard import CAMERA_TERMS
from app.services.storyboard.language.camera import resolve_camera
from app.services.storyboard.language.cues import detect_tone
from app.services.storyboard.language.text import detect_language
from app.services.storyboard.language.vocab import MAX_SHOTS, MIN_SHOTS, TONES

ModelT = TypeVar("ModelT", bound=BaseModel)


# --------------------------------------------------------------------------- JSON extraction

_THINK = re.compile(r"<think>.*?</think>", re.S)
_FENCE = re.compile(r"```[A-Za-z]*\s*\n?(.*?)```", re.S)
_OUTSIDE = str.maketrans({"：": ":", "，": ",", "｛": "{", "｝": "}", "［": "[", "］": "]", "\u3000": " "})


def extract_json(text: str) -> Any:
    """The JSON value in a model's reply, after removing think blocks, fences and surrounding chatter.

    Raises:
        ReplyError: no JSON value can be read, even after repairing full-width punctuation.
    """
    cleaned = _THINK.sub("", text.lstrip("\ufeff")).strip()
    fenced = _FENCE.search(cleaned)
    if fenced:
        cleaned = fenced.group(1).strip()
    error: json.JSONDecodeError | None = None
    for candidate in dict.fromkeys([cleaned, _outermost(cleaned)]):
        for variant in (candidate, repair_punctuation(candidate)):
            try:
                return json.loads(variant, strict=False)
            except json.JSONDecodeError as exc:
                error = error or exc
    if error is None or not cleaned:
        raise ReplyError("the reply is empty; a json object is required")
    raise ReplyError(f"the reply is not valid JSON ({error.msg} at line {error.lineno} column {error.colno})")


def _outermost(text: str) -> str:
    """From the first '{' to the last '}' (or '[' … ']' when the array starts first)."""
    starts = [i for i in (text.find("{"), text.find("[")) if i >= 0]
    if not starts:
        return text
    start = min(starts)
    end = text.rfind("}" if text[start] == "{" else "]")
    return text[start:end + 1] if end > start else text[start:]


def repair_punctuation(text: str) -> str:
    """Turn full-width punctuation used as JSON syntax into ASCII and drop trailing commas.

    Only characters outside strings change: `：` `，` `｛｝［］` become ASCII, `“…”` becomes a string
    (an ASCII quote inside it is escaped), and a comma right before `}` or `]` is removed. Chinese
    punctuation inside string values is content and is kept.
    """
    out: list[str] = []
    closing = ""  # the quote that ends the current string; "" outside strings
    escaped = False
    for ch in text:
        if closing:
            if escaped or (closing == '"' and ch == "\\"):
                escaped = not escaped
                out.append(ch)
            elif ch == closing:
                out.append('"')
                closing = ""
            else:
                out.append('\\"' if ch == '"' else ch)
        elif ch in '"“':
            closing = '"' if ch == '"' else "”"
            out.append('"')
        else:
            ch = ch.translate(_OUTSIDE)
            if ch in "}]":
                _drop_trailing_comma(out)
            out.append(ch)
    return "".join(out)


def _drop_trailing_comma(out: list[str]) -> None:
    i = len(out) - 1
    while i >= 0 and out[i].isspace():
        i -= 1
    if i >= 0 and out[i] == ",":
        del out[i]


# --------------------------------------------------------------------------- the reply's models


def _camera(value: Any) -> str:
    term = resolve_camera(str(value)) if value is not None else None
    if term is None:
        raise ValueError(f"camera {value!r} is not one of the 12 terms: {', '.join(CAMERA_TERMS)}")
    return term


#: tone words models write instead of the vocabulary (upstream prompts asked for Chinese tones)
_TONE_WORDS = {
    "温馨": "warm", "温暖": "warm", "感人": "warm", "欢快": "happy", "轻松": "happy", "愉快": "happy",
    "平静": "calm", "舒缓": "calm", "宁静": "calm", "悲伤": "sad", "低沉": "sad", "忧伤": "sad",
    "紧张": "tense", "急促": "tense", "神秘": "mysterious", "兴奋": "excited", "激动": "excited",
    "cheerful": "happy", "joyful": "happy", "gentle": "calm", "peaceful": "calm", "melancholy": "sad",
}


def _tone(value: Any) -> str:
    text = str(value or "").strip().lower()
    if text in TONES:
        return text
    known = next((tone for word, tone in _TONE_WORDS.items() if word in text), None)
    return known or detect_tone(text, detect_language(text), default="calm")


def _sequence(value: Any) -> int | None:
    digits = re.search(r"\d+", str(value)) if value is not None else None
    return int(digits.group()) if digits else None


def _text(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


def _names(value: Any) -> Any:
    if isinstance(value, str):
        return [n.strip() for n in re.split(r"[,，、;；]", value) if n.strip()]
    return value


Text = Annotated[str, BeforeValidator(_text), Field(min_length=1)]
OptionalText = Annotated[str, BeforeValidator(lambda v: _text(v) or "")]
Camera = Annotated[str, BeforeValidator(_camera), WithJsonSchema({"type": "string", "enum": list(CAMERA_TERMS)})]
Tone = Annotated[str, BeforeValidator(_tone), WithJsonSchema({"type": "string", "enum": list(TONES)})]
Names = Annotated[list[str], BeforeValidator(_names)]


class ReplyCharacter(BaseModel):
    """A character bible entry: a name and the fixed look every picture of them repeats."""

    model_config = ConfigDict(extra="ignore")
    name: Text
    look: Text


class ReplyShot(BaseModel):
    """One shot as the model writes it; `video_prompt_*` become `PlannedShot.prompts`."""

    model_config = ConfigDict(extra="ignore")
    sequence: Annotated[int | None, BeforeValidator(_sequence), WithJsonSchema({"type": "integer"})] = None
    subject: Text
    detail: Text
    image_detail: Text
    camera: Camera
    narration: Text
    tone: Tone
    characters: Names = Field(default_factory=list)
    video_prompt_en: OptionalText = ""
    video_prompt_zh: OptionalText = ""


class StoryboardReply(BaseModel):
    """The storyboard json the planners ask for (its schema is Ollama's `format`)."""

    model_config = ConfigDict(extra="ignore")
    title: OptionalText = ""
    style_phrase: OptionalText = ""
    characters: list[ReplyCharacter] = Field(default_factory=list)
    shots: list[ReplyShot] = Field(min_length=MIN_SHOTS, max_length=MAX_SHOTS)


class RevisionReply(BaseModel):
    """A regenerated shot's picture prompts; the user's `detail` is never part of it."""

    model_config = ConfigDict(extra="ignore")
    image_detail: Text
    characters: Names = Field(default_factory=list)
    video_prompt_en: OptionalText = ""
    video_prompt_zh: OptionalText = ""


# --------------------------------------------------------------------------- parsing


def parse_storyboard_reply(text: str) -> StoryboardReply:
    """Read and validate a planning reply (our shape, or the upstream's bare `{"shots": [...]}`)."""
    data = extract_json(text)
    if isinstance(data, list):
        data = {"shots": data}
    if isinstance(data, dict) and "shots" not in data and isinstance(data.get("storyboard"), dict | list):
        inner = data["storyboard"]
        data = inner if isinstance(inner, dict) else {**data, "shots": inner}
    reply = _validate(StoryboardReply, data)
    if all(s.sequence is not None for s in reply.shots):
        reply.shots.sort(key=lambda s: s.sequence or 0)
    return reply


def parse_revision_reply(text: str) -> RevisionReply:
    """Read and validate a regenerate reply."""
    return _validate(RevisionReply, extract_json(text))


def _validate(model: type[ModelT], data: Any) -> ModelT:
    if not isinstance(data, dict):
        raise ReplyError(f"the reply must be a json object, not {type(data).__name__}")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ReplyError(describe_errors(exc)) from exc


def describe_errors(exc: ValidationError, limit: int = 8) -> str:
    """A validation error as short lines: `shots.2.camera: Value error, camera 'zoom' is not …`."""
    lines = [f"{'.'.join(str(p) for p in e['loc']) or 'reply'}: {e['msg']}" for e in exc.errors()[:limit]]
    more = exc.error_count() - limit
    return "; ".join(lines) + (f"; and {more} more" if more > 0 else "")


def json_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The model's JSON schema with `$defs` inlined and every property required: Ollama turns it
    into a grammar, so the model must write every field (parsing stays tolerant of missing ones)."""
    schema = model.model_json_schema()
    defs = schema.pop("$defs", {})
    return _require_properties(_inline(schema, defs))


def _inline(node: Any, defs: dict[str, Any]) -> Any:
    if isinstance(node, dict):
        if "$ref" in node:
            return _inline(defs[node["$ref"].rsplit("/", 1)[-1]], defs)
        return {k: _inline(v, defs) for k, v in node.items()}
    if isinstance(node, list):
        return [_inline(v, defs) for v in node]
    return node


def _require_all(node: Any) -> Any:
    if isinstance(node, dict):
        return _require_properties(node)
    if isinstance(node, list):
        return [_require_all(v) for v in node]
    return node


def _require_properties(node: dict[str, Any]) -> dict[str, Any]:
    required = {k: _require_all(v) for k, v in node.items()}
    if required.get("type") == "object" and "properties" in required:
        required["required"] = list(required["properties"])
    return required
