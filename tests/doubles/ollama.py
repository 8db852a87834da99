"""An Ollama server double: POST /api/chat and /api/generate, GET /api/tags, GET / ("Ollama is running").

It checks what the real server checks (ollama/ollama docs/api.md, server/routes.go): a JSON body, a
`model` that is pulled (404 `model "x" not found, try pulling it first` otherwise), message roles,
`format` ("", "json" or a JSON schema object), `options` an object, and `keep_alive` as the server's
`api.Duration` reads it (ollama/ollama api/types.go `Duration.UnmarshalJSON`; the bind error is answered 400 with
its text by server/routes.go): a number is seconds, a string must be a Go duration (`time.ParseDuration`: "5m",
"-1s"; a unit-less "-1" → `time: missing unit in duration "-1"`), any other type → `Unsupported type: '<type>'`.
Answers have the real shape (`message.content` as a string, `done`, `done_reason`, durations in ns); errors are
`{"error": "…"}` with the real status. `stream` defaults to true as on the real server (NDJSON chunks, then a final
`done: true` chunk). Scripted failures: see tests/doubles/llm_script.py.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse

from tests.doubles.llm_script import Fail, ScriptedDouble, default_reply
from tests.doubles.serving import serve_double

ROLES = {"system", "user", "assistant", "tool"}
#: Go's time.ParseDuration grammar (time/format.go): [-+]? ( number unit )+, or a bare "0".
GO_NUMBER = re.compile(r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)")
GO_UNITS = ("ns", "us", "µs", "μs", "ms", "s", "m", "h")


def error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


class OllamaDouble(ScriptedDouble):
    def __init__(self, models: tuple[str, ...] = ("qwen2.5:7b-instruct",)):
        super().__init__(default_reply)
        self.models = list(models)

    @property
    def requests(self) -> list[dict[str, Any]]:
        return self.script.requests

    def chats(self) -> list[dict[str, Any]]:
        return self.script.bodies("/api/chat")

    def app(self) -> FastAPI:
        app = FastAPI()
        app.get("/")(lambda: PlainTextResponse("Ollama is running"))
        app.get("/api/tags")(self._tags)
        app.post("/api/chat")(self._chat)
        app.post("/api/generate")(self._generate)
        return app

    async def _tags(self) -> dict[str, Any]:
        return {"models": [_model_entry(name) for name in self.models]}

    async def _chat(self, request: Request) -> Response:
        body, problem = await self._read(request)
        if problem is not None:
            return problem
        messages = body.get("messages")
        if messages is not None and not isinstance(messages, list):
            return error(400, "json: cannot unmarshal messages")
        for message in messages or []:
            if not isinstance(message, dict) or message.get("role") not in ROLES:
                return error(400, f"invalid role: {message.get('role') if isinstance(message, dict) else message}")
        return await self._answer(body, "chat")

    async def _generate(self, request: Request) -> Response:
        body, problem = await self._read(request)
        if problem is not None:
            return problem
        if not isinstance(body.get("prompt", ""), str):
            return error(400, "json: cannot unmarshal prompt")
        return await self._answer(body, "generate")

    async def _read(self, request: Request) -> tuple[dict[str, Any], Response | None]:
        """Parse and check the common fields; record the request."""
        raw = await request.body()
        if not raw:
            return {}, error(400, "missing request body")
        try:
            body = json.loads(raw)
        except json.JSONDecodeError as exc:
            return {}, error(400, f"invalid character in request body: {exc.msg}")
        if not isinstance(body, dict):
            return {}, error(400, "json: cannot unmarshal request body")
        self.script.requests.append({"path": request.url.path, "headers": dict(request.headers), "body": body})
        fmt = body.get("format")
        if not body.get("model"):
            return body, error(400, "model is required")
        if fmt is not None and fmt not in ("", "json") and not isinstance(fmt, dict):
            return body, error(400, f"invalid format: {json.dumps(fmt)}")
        if not isinstance(body.get("options", {}), dict):
            return body, error(400, "json: cannot unmarshal options")
        if "keep_alive" in body and (problem := duration_error(body["keep_alive"])):
            return body, error(400, problem)
        if body["model"] not in self.models and f"{body['model']}:latest" not in self.models:
            return body, error(404, f'model "{body["model"]}" not found, try pulling it first')
        return body, None

    async def _answer(self, body: dict[str, Any], kind: str) -> Response:
        text = await self._next_answer(body)
        if isinstance(text, Fail):
            return JSONResponse(text.body, status_code=text.status)
        if body.get("stream", True) is False:
            return JSONResponse(_final(body["model"], kind, text))
        chunks = [_chunk(body["model"], kind, text), _final(body["model"], kind, "")]
        return StreamingResponse((json.dumps(c) + "\n" for c in chunks), media_type="application/x-ndjson")


def duration_error(value: Any) -> str | None:
    """The error Ollama answers for a `keep_alive` it cannot read (api.Duration), else None."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        kind = {bool: "bool", dict: "map[string]interface {}", list: "[]interface {}"}.get(type(value), "<nil>")
        return f"Unsupported type: '{kind}'"
    if not isinstance(value, str):
        return None
    return go_duration_error(value)


def go_duration_error(text: str) -> str | None:
    """time.ParseDuration's error for `text`, or None when Go parses it."""
    rest = text[1:] if text[:1] in "+-" else text
    if rest == "0":
        return None
    if not rest:
        return f'time: invalid duration "{text}"'
    while rest:
        number = GO_NUMBER.match(rest)
        if not number:
            return f'time: invalid duration "{text}"'
        rest = rest[number.end():]
        unit = re.match(r"[^0-9.]*", rest)
        unit_text = unit.group() if unit else ""
        if not unit_text:
            return f'time: missing unit in duration "{text}"'
        if unit_text not in GO_UNITS:
            return f'time: unknown unit "{unit_text}" in duration "{text}"'
        rest = rest[len(unit_text):]
    return None


def _now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def _chunk(model: str, kind: str, text: str) -> dict[str, Any]:
    content = {"message": {"role": "assistant", "content": text}} if kind == "chat" else {"response": text}
    return {"model": model, "created_at": _now(), **content, "done": False}


def _final(model: str, kind: str, text: str) -> dict[str, Any]:
    stats = {"total_duration": 2_254_970_291, "load_duration": 574_751_416, "prompt_eval_count": 412,
             "prompt_eval_duration": 150_200_000, "eval_count": max(len(text) // 2, 1), "eval_duration": 1_750_000_000}
    extra = {"context": [1, 2, 3]} if kind == "generate" else {}
    return {**_chunk(model, kind, text), "done": True, "done_reason": "stop", **stats, **extra}


def _model_entry(name: str) -> dict[str, Any]:
    return {"name": name, "model": name, "modified_at": "2025-11-20T08:00:00.000000000Z", "size": 4_683_087_332,
            "digest": "845dbda0ea48ed749caafd9e6037047aa19acfcfd82e704d7ca97d631a0b697e",
            "details": {"parent_model": "", "format": "gguf", "family": "qwen2", "families": ["qwen2"],
                        "parameter_size": "7.6B", "quantization_level": "Q4_K_M"}}


@contextmanager
def serve_ollama(models: tuple[str, ...] = ("qwen2.5:7b-instruct",)) -> Iterator[OllamaDouble]:
    """Run an OllamaDouble; yield it with `base_url` set. Hanging requests end when it stops."""
    double = OllamaDouble(models)
    with serve_double(double, double.app()) as served:
        yield served
