"""A stand-in for the upstream Story2Video Go backend, as far as it talks to this service.

It applies that backend's rules (shared/reference/upstream.md; re-stated here, not its code):

- each call POSTs a flat JSON object of strings, with only `Content-Type` set (no auth), and waits
  up to 300 s for the answer;
- a status >= 400 is an error whose message is the body; any status below 400 is decoded as success;
- decoding is typed: a known field of the wrong JSON type fails the whole answer (as Go's
  encoding/json does), null leaves a field empty, unknown keys are ignored, and keys match their
  field case-insensitively when no exact match exists;
- a shot's id is taken from `id`, else `shot_id`, else `sequence`; it is kept as the row id only when
  it parses as a UUID (else the row gets a fresh UUID4), and rows are matched by id, then by
  (story, sequence);
- create fails when the answer has no shots; render stores the story as ready with `video_url`.

Its "database" is a few dicts, so a test can check what the backend would have stored.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx

STRING = "string"
ANY = "any"
OPERATION = {"operation_id": STRING, "status": STRING, "detail": STRING}
SHOT: dict[str, str] = {**dict.fromkeys((
    "id", "shot_id", "subject", "title", "description", "script", "detail", "details", "camera", "type",
    "transition", "voice", "tone", "narration", "bgm", "image_url", "image_path", "image_base64", "image_data"),
    STRING), "sequence": ANY}
CREATE_ANSWER = {"operation": OPERATION, "shots": [SHOT]}
REGENERATE_ANSWER = {"operation": OPERATION, "shot": SHOT}
RENDER_ANSWER = {"operation": OPERATION, "video_url": STRING, "video_data": STRING}
TIMEOUT_S = 300.0


class ModelServiceError(Exception):
    """The call failed: transport, a status >= 400 (the body is the message), or an undecodable answer."""


def go_uuid(text: str) -> uuid.UUID | None:
    """Parse a UUID the way Go's github.com/google/uuid Parse does: 36 chars with dashes at 8/13/18/23,
    38 in braces, 45 with a urn:uuid: prefix, or 32 hex digits; None when it does not parse."""
    if len(text) == 45 and text[:9].lower() == "urn:uuid:":
        text = text[9:]
    elif len(text) == 38 and text[0] == "{" and text[-1] == "}":
        text = text[1:-1]
    if len(text) == 36:
        if any(text[i] != "-" for i in (8, 13, 18, 23)):
            return None
        text = text.replace("-", "")
    if len(text) != 32 or any(c not in "0123456789abcdefABCDEF" for c in text):
        return None
    return uuid.UUID(text)


def decode(value: Any, schema: Any, path: str = "$") -> Any:
    """Decode a JSON value into `schema` (a dict = struct, [x] = slice of x, STRING, ANY) with Go's rules."""
    if schema == ANY:
        return value
    if schema == STRING:
        if value is None:
            return ""
        if not isinstance(value, str):
            raise ModelServiceError(f"decode model response: json: cannot unmarshal {_json_type(value)} "
                                    f"into Go value of type string at {path}")
        return value
    if isinstance(schema, list):
        if value is None:
            return []
        if not isinstance(value, list):
            raise ModelServiceError(f"decode model response: cannot unmarshal {_json_type(value)} into slice "
                                    f"at {path}")
        return [decode(item, schema[0], f"{path}[{i}]") for i, item in enumerate(value)]
    struct = {name: decode(None, kind, path) for name, kind in schema.items()}
    if value is None:
        return struct
    if not isinstance(value, dict):
        raise ModelServiceError(f"decode model response: cannot unmarshal {_json_type(value)} into struct at {path}")
    for key, item in value.items():
        name = key if key in schema else next((n for n in schema if n.lower() == key.lower()), None)
        if name is not None:
            struct[name] = decode(item, schema[name], f"{path}.{key}")
    return struct


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    return {str: "string", list: "array", dict: "object"}.get(type(value), "null")


def _first(*values: str) -> str:
    return next((v for v in values if v.strip()), "")


def _sequence_text(value: Any) -> str:
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(int(value))
    return ""


@dataclass
class ShotRow:
    id: str
    story_id: str
    sequence: str
    title: str = ""
    description: str = ""
    details: str = ""
    narration: str = ""
    type: str = ""
    voice: str = ""
    image_url: str = ""
    status: str = "done"


@dataclass
class StoryRow:
    id: str
    user_id: str
    status: str = "generating"
    video_url: str = ""


@dataclass
class OperationRow:
    id: str
    action: str
    status: str = "queued"
    error: str = ""


@dataclass
class UpstreamBackend:
    """The Go backend's worker and its bridge to this service, driving `base_url`."""

    base_url: str
    stories: dict[str, StoryRow] = field(default_factory=dict)
    shots: dict[str, ShotRow] = field(default_factory=dict)
    operations: dict[str, OperationRow] = field(default_factory=dict)
    #: every raw answer: (path, status, body text)
    exchanges: list[tuple[str, int, str]] = field(default_factory=list)

    # ------------------------------------------------------------------ the backend's jobs

    def create_story(self, user_id: str, display_name: str, script: str, style: str) -> tuple[str, OperationRow]:
        story_id = str(uuid.uuid4())
        self.stories[story_id] = StoryRow(story_id, user_id)
        op = self._job("create")

        def run() -> None:
            answer = self._post("/api/v1/storyboard/create", {
                "operation_id": op.id, "story_id": story_id, "user_id": user_id, "display_name": display_name,
                "script_content": script, "style": style}, CREATE_ANSWER)
            if not answer["shots"]:
                raise ModelServiceError("model service returned no shots")
            for shot in answer["shots"]:
                self._upsert(story_id, self._convert(shot), job_shot_id="")
            self.stories[story_id].status = "ready"

        self._handle(op, run, story_id=story_id)
        return story_id, op

    def regenerate(self, story_id: str, shot_id: str, details: str, style: str, *,
                   operation_id: str | None = None) -> OperationRow:
        op = self._job("regen_shot", operation_id)
        story = self.stories[story_id]

        def run() -> None:
            answer = self._post("/api/v1/shot/regenerate", {
                "operation_id": op.id, "story_id": story_id, "shot_id": shot_id, "user_id": story.user_id,
                "detail": details, "style": style}, REGENERATE_ANSWER)
            self._upsert(story_id, self._convert(answer["shot"]), job_shot_id=shot_id)

        self._handle(op, run, story_id=story_id, shot_id=shot_id)
        return op

    def render(self, story_id: str, *, operation_id: str | None = None) -> OperationRow:
        op = self._job("render_video", operation_id)
        story = self.stories[story_id]

        def run() -> None:
            answer = self._post("/api/v1/video/render", {
                "operation_id": op.id, "story_id": story_id, "user_id": story.user_id}, RENDER_ANSWER)
            story.status, story.video_url = "ready", answer["video_url"]

        self._handle(op, run, story_id=story_id)
        return op

    def shots_of(self, story_id: str) -> list[ShotRow]:
        return sorted((s for s in self.shots.values() if s.story_id == story_id), key=lambda s: int(s.sequence))

    # ------------------------------------------------------------------ worker rules

    def _job(self, action: str, operation_id: str | None = None) -> OperationRow:
        op = OperationRow(operation_id or str(uuid.uuid4()), action)
        self.operations[op.id] = op
        return op

    def _handle(self, op: OperationRow, run: Any, *, story_id: str, shot_id: str = "") -> None:
        op.status, op.error = "running", ""
        try:
            run()
        except ModelServiceError as exc:
            op.status, op.error = "failed", str(exc)
            if op.action == "regen_shot":
                row = self.shots.get(shot_id) if go_uuid(shot_id) else None
                if row is not None:
                    row.status = "failed"
            else:
                self.stories[story_id].status = "failed"
            return
        op.status = "succeeded"

    @staticmethod
    def _convert(shot: dict[str, Any]) -> dict[str, str]:
        sequence_value = shot["sequence"]
        if sequence_value is None and shot["shot_id"] == "":
            sequence_value = shot["id"]
        sequence = _sequence_text(sequence_value)
        shot_id = _first(shot["id"], shot["shot_id"], sequence)
        detail = _first(shot["detail"], shot["details"])
        return {
            "shot_id": shot_id, "sequence": sequence or shot_id, "title": _first(shot["title"], shot["subject"]),
            "description": _first(shot["description"], detail), "details": detail, "narration": shot["narration"],
            "type": _first(shot["type"], shot["camera"]), "voice": _first(shot["voice"], shot["tone"]),
            "image_url": _first(shot["image_url"], shot["image_path"]),
        }

    def _upsert(self, story_id: str, shot: dict[str, str], *, job_shot_id: str) -> None:
        sequence = shot["sequence"] or shot["shot_id"]
        parsed = go_uuid(shot["shot_id"] or job_shot_id)
        if parsed is not None and str(parsed) in self.shots:
            self._update(self.shots[str(parsed)], shot)
            return
        existing = next((s for s in self.shots.values() if s.story_id == story_id and s.sequence == sequence), None)
        if existing is not None:
            self._update(existing, shot)
            return
        row_id = str(parsed) if parsed is not None else str(uuid.uuid4())
        self.shots[row_id] = ShotRow(row_id, story_id, sequence, shot["title"], shot["description"], shot["details"],
                                     shot["narration"], shot["type"], shot["voice"], shot["image_url"])

    @staticmethod
    def _update(row: ShotRow, shot: dict[str, str]) -> None:
        row.status = "done"
        for name in ("title", "description", "narration", "type", "voice", "image_url", "details"):
            if shot[name].strip():
                setattr(row, name, shot[name])

    # ------------------------------------------------------------------ the bridge

    def _post(self, path: str, payload: dict[str, str], schema: dict[str, Any]) -> dict[str, Any]:
        assert all(isinstance(v, str) for v in payload.values()), "the backend sends strings only"
        try:
            with httpx.Client(timeout=TIMEOUT_S) as client:
                response = client.post(self.base_url + path, content=_json_bytes(payload),
                                       headers={"Content-Type": "application/json"})
        except httpx.HTTPError as exc:
            raise ModelServiceError(f"request model service: {exc}") from exc
        self.exchanges.append((path, response.status_code, response.text))
        if response.status_code >= 400:
            raise ModelServiceError(f"model service {path} status={response.status_code} body={response.text.strip()}")
        try:
            body = response.json()
        except ValueError as exc:
            raise ModelServiceError(f"decode model response: {exc}") from exc
        decoded: dict[str, Any] = decode(body, schema)
        return decoded


def _json_bytes(payload: dict[str, str]) -> bytes:
    return json.dumps(payload, ensure_ascii=False).encode()
