"""A double of our CosyVoice server (CosyVoice/api.py): same paths, fields, statuses, headers and errors.

POST /v1/tts {text, speaker, speed, instruct (aliases: style, instruct_text)} → one 16-bit mono WAV at
24000 Hz (X-Sample-Rate, X-Audio-Duration, X-Segments, X-Speaker-Cloned, X-Instruct-Applied, X-Speaker);
422 invalid_request / empty_text / text_too_long / instruct_too_long / unknown_speaker, 429 queue_full with
Retry-After, 411 without Content-Length. GET /v1/speakers, GET /health (the servers' shared shape). Errors are
`{code, message, request_id, details?}`.

Scriptable: `queue_full` (next N requests answer 429), `http_errors` (500 internal_error first),
`garbage` (next N answers are 200 with an error text as the body, the upstream's bug), `hang` (endpoints
that never answer until released). Endpoints: tts, speakers, health. With `latency_s` set, speech takes
that long and, as on the server's one GPU, one request at a time; `spans` records each synthesis's
(text, start, end) in time.time().
"""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import AliasChoices, BaseModel, ConfigDict, Field

from tests.doubles.clips import wav_of
from tests.doubles.local_server import LocalServerDouble, Refused, answer_refusals, error
from tests.doubles.serving import serve_double

SAMPLE_RATE = 24000
SECONDS_PER_CHAR = 0.12
SPEAKABLE = re.compile(r"\w", re.UNICODE)
SPEAKERS = [{"id": "中文女", "kind": "builtin", "clones_voice": True, "description": ""},
            {"id": "narrator", "kind": "zero_shot", "clones_voice": True, "description": "cloned from its prompt WAV"}]


class TTSRequest(BaseModel):
    """Same fields as CosyVoice/api.py TTSRequest."""

    model_config = ConfigDict(extra="ignore")

    text: str = Field(min_length=1)
    speaker: str = Field("", max_length=64)
    speed: float = Field(1.0, ge=0.5, le=2.0)
    instruct: str | None = Field(None, validation_alias=AliasChoices("instruct", "style", "instruct_text"))


def wav_bytes(seconds: float) -> bytes:
    return wav_of(b"\x10\x00\xf0\xff" * round(seconds * SAMPLE_RATE / 2), SAMPLE_RATE)


class CosyVoiceDouble(LocalServerDouble):
    def __init__(self, *, latency_s: float = 0.0) -> None:
        super().__init__()
        self.bodies: list[dict[str, Any]] = []
        self.spans: list[tuple[str, float, float]] = []
        self.latency_s = latency_s
        self.queue_full = 0
        self.garbage = 0
        self._gpu: asyncio.Lock | None = None

    async def tts(self, body: TTSRequest) -> Response:
        await self._enter("tts")
        text, ids = body.text.strip(), [s["id"] for s in SPEAKERS]
        if len(text) > 2000:
            raise Refused(422, "text_too_long", f"text has {len(text)} characters; the limit is 2000")
        if not SPEAKABLE.search(text):
            raise Refused(422, "empty_text", "text has nothing to say (no letters, digits or characters)")
        if body.instruct and len(body.instruct) > 200:
            raise Refused(422, "instruct_too_long", "instruct is limited to 200 characters")
        if body.speaker and body.speaker not in ids:
            raise Refused(422, "unknown_speaker", f"unknown speaker {body.speaker!r}; known: {', '.join(ids)}",
                           {"speakers": ids})
        if self.queue_full:
            self.queue_full -= 1
            raise Refused(429, "queue_full", "8 requests are already waiting; retry later",
                          {"capacity": 8, "retry_after_s": 1}, {"Retry-After": "1"})
        self.bodies.append(body.model_dump())
        if self.latency_s:
            self._gpu = self._gpu or asyncio.Lock()
            async with self._gpu:
                start = time.time()
                await asyncio.sleep(self.latency_s)
                self.spans.append((text, start, time.time()))
        if self.garbage:
            self.garbage -= 1
            return Response(b"CUDA error: out of memory", media_type="audio/wav")
        speaker = body.speaker or "narrator"
        seconds = max(len(text) * SECONDS_PER_CHAR / body.speed, 0.2)
        instructed = bool(body.instruct) and speaker == "narrator"
        headers = {"X-Sample-Rate": str(SAMPLE_RATE), "X-Audio-Duration": f"{seconds:.3f}", "X-Segments": "1",
                   "X-Speaker-Cloned": "true", "X-Instruct-Applied": str(instructed).lower(),
                   "X-Speaker": quote(speaker)}
        return Response(wav_bytes(seconds), media_type="audio/wav", headers=headers)

    async def speakers(self) -> dict[str, Any]:
        await self._enter("speakers")
        return {"engine": "cosyvoice", "default_speaker": "narrator", "speakers": SPEAKERS}

    async def health(self) -> dict[str, Any]:
        await self._enter("health")
        model = {"name": "CosyVoice2-0.5B", "loaded": True, "engine": "cosyvoice", "sample_rate": SAMPLE_RATE,
                 "speakers": len(SPEAKERS)}
        return {"status": "ok", "server": "cosyvoice", "version": "1.1.0", "model": model, "device": "cuda",
                "gpu": None, "queue": {"running": 0, "waiting": 0, "capacity": 8}, "error": None,
                "torch_installed": True}

    @property
    def app(self) -> FastAPI:
        app = FastAPI()
        app.add_api_route("/v1/tts", self.tts, methods=["POST"])
        app.add_api_route("/v1/speakers", self.speakers, methods=["GET"])
        app.add_api_route("/health", self.health, methods=["GET"])

        @app.middleware("http")
        async def request_id(request: Request, call_next: Any) -> Response:
            request.state.request_id = uuid.uuid4().hex
            if request.method == "POST" and not request.headers.get("content-length", "").isdigit():
                response: Response = error(request, 411, "length_required", "send a Content-Length")
            else:
                response = await call_next(request)
            response.headers["X-Request-Id"] = request.state.request_id
            return response

        answer_refusals(app)

        @app.exception_handler(RequestValidationError)
        async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
            errors = [{"field": ".".join(str(p) for p in e["loc"] if p != "body"), "problem": e["msg"]}
                      for e in exc.errors()]
            first = errors[0] if errors else {"field": "body", "problem": "invalid request"}
            return error(request, 422, "invalid_request", f"{first['field'] or 'body'}: {first['problem']}",
                         {"errors": errors})

        return app


@contextmanager
def serve_cosyvoice(*, latency_s: float = 0.0) -> Iterator[CosyVoiceDouble]:
    """Run a CosyVoiceDouble; yield it with `base_url` set. Hanging requests are released on exit."""
    double = CosyVoiceDouble(latency_s=latency_s)
    with serve_double(double, double.app, health_path="/docs") as served:
        yield served
