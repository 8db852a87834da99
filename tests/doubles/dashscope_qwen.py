"""A DashScope double for Qwen text generation: the native endpoint the `dashscope` SDK calls.

POST /api/v1/services/aigc/text-generation/generation checks `Authorization: Bearer <key>` (401
`InvalidApiKey` otherwise), a JSON body with `model` and `input.messages` (roles, string content),
and JSON mode's rule that the messages contain the word "json" (400 `InvalidParameter`). It answers
`{request_id, output: {choices: [{finish_reason, message: {role, content}}]}, usage}` for
`result_format: "message"` (`output.text` otherwise); errors are `{request_id, code, message}`.
GET /api/v1/tasks/{id} answers an unknown task as the real API does (200, task_status UNKNOWN): the
readiness probe of every DashScope backend. Scripted failures: see tests/doubles/llm_script.py, and
`throttled()`, `moderated()` below for the vendor's exact bodies.

Sources of these rules: dashscope SDK `aigc/generation.py` and `api_entities/dashscope_response.py` (request and
answer shapes); https://www.alibabacloud.com/help/en/model-studio/qwen-structured-output (the "json" word rule);
https://help.aliyun.com/zh/model-studio/developer-reference/error-code (error bodies and codes).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from tests.doubles.llm_script import Fail, ScriptedDouble, default_reply
from tests.doubles.serving import serve_double

ROLES = {"system", "user", "assistant", "tool"}
GENERATION = "/api/v1/services/aigc/text-generation/generation"


def error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"request_id": str(uuid.uuid4()), "code": code, "message": message}, status_code=status)


def throttled() -> Fail:
    return Fail(429, {"request_id": str(uuid.uuid4()), "code": "Throttling",
                      "message": "Requests rate limit exceeded, please try again later."})


def moderated() -> Fail:
    return Fail(400, {"request_id": str(uuid.uuid4()), "code": "DataInspectionFailed",
                      "message": "Input data may contain inappropriate content."})


class QwenDouble(ScriptedDouble):
    def __init__(self, api_key: str = "sk-test-qwen"):
        super().__init__(lambda body: default_reply(body["input"]))
        self.api_key = api_key

    @property
    def api_base(self) -> str:
        """What DASHSCOPE_BASE_HTTP_URL would be: the double's /api/v1."""
        return f"{self.base_url}/api/v1"

    def generations(self) -> list[dict[str, Any]]:
        return self.script.bodies(GENERATION)

    def app(self) -> FastAPI:
        app = FastAPI()
        app.post(GENERATION)(self._generation)
        app.get("/api/v1/tasks/{task_id}")(self._task)
        return app

    def _auth(self, request: Request) -> JSONResponse | None:
        header = request.headers.get("authorization", "")
        if not header:
            return error(401, "InvalidApiKey", "No API-key provided.")
        if header != f"Bearer {self.api_key}":
            return error(401, "InvalidApiKey", "Invalid API-key provided.")
        return None

    async def _task(self, task_id: str, request: Request) -> Response:
        refused = self._auth(request)
        if refused is not None:
            return refused
        return JSONResponse({"request_id": str(uuid.uuid4()), "output": {"task_id": task_id, "task_status": "UNKNOWN"}})

    async def _generation(self, request: Request) -> Response:
        try:
            body = json.loads(await request.body() or b"null")
        except json.JSONDecodeError:
            return error(400, "InvalidParameter", "The request body is not valid JSON.")
        self.script.requests.append({"path": GENERATION, "headers": dict(request.headers), "body": body})
        refused = self._auth(request) or _check(body)
        if refused is not None:
            return refused
        text = await self._next_answer(body)
        if isinstance(text, Fail):
            return JSONResponse(text.body, status_code=text.status)
        return JSONResponse(_answer(body, text))


def _check(body: Any) -> JSONResponse | None:
    """The request validation the real endpoint does, with its codes."""
    if not isinstance(body, dict) or not body.get("model"):
        return error(400, "BadRequest.EmptyModel", "Required parameter(s) missing or invalid, please check the "
                                                   "request parameters.")
    messages = (body.get("input") or {}).get("messages")
    if not messages or not isinstance(messages, list):
        return error(400, "BadRequest.EmptyInput", "Required input parameter missing from request.")
    for message in messages:
        if not isinstance(message, dict) or message.get("role") not in ROLES or not isinstance(
                message.get("content"), str):
            return error(400, "InvalidParameter", "Role must be in [user, assistant, system, tool] and content a "
                                                  "string.")
    parameters = body.get("parameters") or {}
    wants_json = (parameters.get("response_format") or {}).get("type") == "json_object"
    if wants_json and not any("json" in m["content"].lower() for m in messages):
        return error(400, "InvalidParameter", "'messages' must contain the word 'json' in some form, to use "
                                              "'response_format' of type 'json_object'.")
    return None


def _answer(body: dict[str, Any], text: str) -> dict[str, Any]:
    parameters = body.get("parameters") or {}
    prompt_tokens = sum(len(m["content"]) for m in body["input"]["messages"]) // 2
    usage = {"input_tokens": prompt_tokens, "output_tokens": len(text) // 2,
             "total_tokens": prompt_tokens + len(text) // 2}
    if parameters.get("result_format") == "message":
        output: dict[str, Any] = {"choices": [{"finish_reason": "stop",
                                               "message": {"role": "assistant", "content": text}}]}
    else:
        output = {"text": text, "finish_reason": "stop"}
    return {"request_id": str(uuid.uuid4()), "output": output, "usage": usage}


@contextmanager
def serve_qwen(api_key: str = "sk-test-qwen") -> Iterator[QwenDouble]:
    """Run a QwenDouble; yield it with `base_url` set. Hanging requests end when it stops."""
    double = QwenDouble(api_key)
    with serve_double(double, double.app()) as served:
        yield served
