"""A Pixverse platform API double (v2 image-to-video), plus a "CDN" route serving the result clip.

Rules it enforces, each with its source (re-check them there):
* `API-KEY` header, else ErrCode 400012 "Invalid account" — docs.platform.pixverse.ai "Quick Start" and
  "Error codes".
* `Ai-trace-id` must be a UUID — docs.platform.pixverse.ai "API Parameter Description".
* A reused `Ai-trace-id` answers the FIRST answer given under it again, and starts (and bills) nothing new: the
  trace id is PixVerse's idempotency key — PixVerse API notes ("same Ai-trace-id returns the previous result
  instead of a new generation"; quoted by third-party integrations, e.g. the Chinese integration note "重复会返回上一
  次结果"). Only answers of the application are remembered: a scripted gateway failure (`http_errors`) is not.
* Upload: multipart field `image`, png/jpeg/webp that decodes — …/upload-image-13016631e0.
* img2video body: required `duration, img_id, model, prompt, quality`; prompt/negative ≤ 2048 chars; seed
  0..2147483647; `duration` 5 or 8 (v5.5/v5.6: also 10); `quality` 360p/540p/720p/1080p; `motion_mode`
  normal/fast; fast → 5 s only; **1080p → no 8 s and no fast motion** — …/image-to-video-generation-13016633e0 and
  …/how-to-use-extend-1268531m0 ("5,8 — 1080p doesn't support 8"; "fast (only allows 5-second duration) 1080p
  doesn't support fast").
* Result statuses 1 done / 5 generating / 7 moderated / 8 failed — …/get-video-generation-status-13016632e0.
* Envelope `{ErrCode, ErrMsg, Resp}`; upload moderation as HTTP 500 `{err_code, err_msg}` — observed answers
  recorded by third-party clients (see app/services/clip/pixverse_errors.py).

`billed` is the ledger: one entry (the video id) per video PixVerse started and charges for.

Scriptable: `http_errors[endpoint]` (HTTP statuses a gateway answers first; not remembered under the trace id),
`raw[endpoint]` ((status, body) answered first), `errcodes[endpoint]` (ErrCode/ErrMsg on HTTP 200 first),
`drop[endpoint]` (how many answers are computed — and remembered, and billed — but lost: the connection drops
mid-answer), `final_status` (1, 7 or 8), `polls_until_done`, `stuck` (status 5 forever), `hang` (endpoints that
never answer until released). Endpoints: upload, generate, result, balance, media.
"""

from __future__ import annotations

import email
import email.policy
import functools
import io
import tempfile
import uuid
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from PIL import Image
from starlette.types import Receive, Scope, Send

from tests.doubles.clips import make_clip
from tests.doubles.serving import RecordedCalls, serve_double

MODELS = {"v3.5", "v4", "v4.5", "v5", "v5.5", "v5.6"}
QUALITIES = {"360p", "540p", "720p", "1080p"}
IMAGE_TYPES = {"image/png", "image/jpeg", "image/jpg", "image/webp"}


class LostAnswer(Response):
    """An answer whose connection drops after its first bytes: the client never learns what it said."""

    def __init__(self, answer: JSONResponse):
        super().__init__(answer.body, status_code=answer.status_code, media_type="application/json")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})
        await send({"type": "http.response.body", "body": self.body[:5], "more_body": True})
        # returning without the rest: the server closes the connection mid-body


def envelope(code: int = 0, msg: str = "success", resp: Any = None, status: int = 200) -> JSONResponse:
    return JSONResponse({"ErrCode": code, "ErrMsg": msg, "Resp": resp if resp is not None else {}}, status_code=status)


@functools.lru_cache(maxsize=1)
def sample_clip() -> bytes:
    """What Pixverse returns: a 2 s 24 fps 512x288 H.264 clip with 16 kHz mono AAC audio."""
    with tempfile.TemporaryDirectory() as tmp:
        return make_clip(Path(tmp) / "clip.mp4", seconds=2, width=512, height=288, fps=24, audio_hz=16000)


class PixverseDouble(RecordedCalls):
    def __init__(self, api_key: str = "pv-test-key"):
        super().__init__()
        self.api_key = api_key
        self.trace_ids: set[str] = set()
        self.trace_log: list[tuple[str, str]] = []  # (endpoint, trace id) of every authenticated call
        self.answers: dict[str, tuple[int, bytes]] = {}  # trace id → the first answer given under it
        self.billed: list[int] = []  # the ledger: each video started (and charged for)
        self.drop: dict[str, int] = defaultdict(int)
        self.images: dict[int, bytes] = {}
        self.videos: dict[int, dict[str, Any]] = {}
        self.generate_bodies: list[dict[str, Any]] = []
        self.media_saw_api_key = False
        self.errcodes: dict[str, deque[tuple[int, str]]] = defaultdict(deque)
        self.raw: dict[str, deque[tuple[int, dict]]] = defaultdict(deque)
        self.final_status = 1
        self.polls_until_done = 2
        self.stuck = False
        self._next_id = 100_000

    async def _serve(self, endpoint: str, request: Request, handler: Callable[[], Awaitable[Response]]) -> Response:
        """Record the call; apply auth, the gateway's scripted failures, the trace-id replay and the scripted
        answers, else run `handler`. The application's answer is remembered under the trace id."""
        await self._record(endpoint)
        if request.headers.get("API-KEY") != self.api_key:
            return envelope(400012, "Invalid account", status=401)
        trace = request.headers.get("Ai-trace-id", "")
        try:
            uuid.UUID(trace)
        except ValueError:
            return envelope(400011, "Empty parameter: Ai-trace-id must be a UUID", status=400)
        self.trace_log.append((endpoint, trace))
        if (status := self._scripted_status(endpoint)) is not None:  # the gateway: nothing reached PixVerse
            return Response(f"<html>{status} scripted gateway error</html>", status_code=status,
                            media_type="text/html")
        if trace in self.answers:  # the idempotency key: the first answer again, nothing new started
            status, body = self.answers[trace]
            return Response(body, status_code=status, media_type="application/json")
        self.trace_ids.add(trace)
        if self.raw[endpoint]:
            status, raw = self.raw[endpoint].popleft()
            answer = JSONResponse(raw, status_code=status)
        elif self.errcodes[endpoint]:
            code, msg = self.errcodes[endpoint].popleft()
            answer = envelope(code, msg)
        else:
            answer = await handler()
        if not isinstance(answer, JSONResponse):
            return answer
        self.answers[trace] = (answer.status_code, bytes(answer.body))
        if self.drop[endpoint] > 0:
            self.drop[endpoint] -= 1
            return LostAnswer(answer)
        return answer

    def traces(self, endpoint: str) -> list[str]:
        """The trace ids `endpoint` was called with, in order (repeats included)."""
        return [trace for name, trace in self.trace_log if name == endpoint]

    def _new_id(self) -> int:
        self._next_id += 1
        return self._next_id

    async def upload(self, request: Request) -> Response:
        return await self._serve("upload", request, lambda: self._upload(request))

    async def _upload(self, request: Request) -> Response:
        form = parse_multipart(request.headers.get("content-type", ""), await request.body())
        if form is None or "image" not in form:
            return envelope(400011, "Empty parameter: image or image_url is required")
        filename, content_type, data = form["image"]
        if not filename or content_type not in IMAGE_TYPES:
            return envelope(500032, "Invalid image format")
        try:
            Image.open(io.BytesIO(data)).verify()
        except Exception:
            return envelope(500031, "Failed to retrieve image information")
        img_id = self._new_id()
        self.images[img_id] = data
        return envelope(resp={"img_id": img_id, "img_url": f"https://media.pixverse.test/{img_id}.png"})

    async def generate(self, request: Request) -> Response:
        return await self._serve("generate", request, lambda: self._generate(request))

    async def _generate(self, request: Request) -> Response:
        try:
            body = await request.json()
        except ValueError:
            return envelope(400013, "Invalid binding request: body is not JSON")
        if problem := check_generate(body, self.images):
            return envelope(*problem)
        self.generate_bodies.append(body)
        video_id = self._new_id()
        self.videos[video_id] = {"polls": 0, "body": body}
        self.billed.append(video_id)
        return envelope(resp={"video_id": video_id, "credits": 45})

    async def result(self, video_id: int, request: Request) -> Response:
        return await self._serve("result", request, lambda: self._result(video_id, request))

    async def _result(self, video_id: int, request: Request) -> Response:
        video = self.videos.get(video_id)
        if video is None:
            return envelope(500008, "Requested data not found")
        video["polls"] += 1
        done = not self.stuck and video["polls"] >= self.polls_until_done
        status = self.final_status if done else 5
        url = f"{str(request.base_url).rstrip('/')}/media/{video_id}.mp4" if status == 1 else ""
        body = video["body"]
        return envelope(resp={"id": video_id, "status": status, "url": url, "prompt": body["prompt"],
                              "negative_prompt": body.get("negative_prompt", ""), "seed": body.get("seed", 0),
                              "style": "", "outputWidth": 512, "outputHeight": 288, "resolution_ratio": 288,
                              "size": len(sample_clip()) if url else 0, "create_time": "2026-01-01T00:00:00Z",
                              "modify_time": "2026-01-01T00:00:05Z"})

    async def balance(self, request: Request) -> Response:
        return await self._serve("balance", request, self._balance)

    async def _balance(self) -> Response:
        return envelope(resp={"account_id": 123452341, "credit_monthly": 1000, "credit_package": 30})

    async def media(self, request: Request) -> Response:
        """The CDN the result URL points at (no auth; it must not receive the API key)."""
        self.calls.append("media")
        self.media_saw_api_key |= "api-key" in request.headers
        if (status := self._scripted_status("media")) is not None:
            return Response(b"busy", status_code=status)
        return Response(sample_clip(), media_type="video/mp4")

    @property
    def app(self) -> FastAPI:
        app = FastAPI()
        app.add_api_route("/openapi/v2/image/upload", self.upload, methods=["POST"])
        app.add_api_route("/openapi/v2/video/img/generate", self.generate, methods=["POST"])
        app.add_api_route("/openapi/v2/video/result/{video_id}", self.result, methods=["GET"])
        app.add_api_route("/openapi/v2/account/balance", self.balance, methods=["GET"])
        app.add_api_route("/media/{name}", self.media, methods=["GET"])
        return app


def check_generate(body: Any, images: dict[int, bytes]) -> tuple[int, str] | None:
    """(ErrCode, ErrMsg) for an img2video body the real API would refuse, else None."""
    if not isinstance(body, dict):
        return 400013, "Invalid binding request: incorrect parameter type or value"
    missing = [f for f in ("duration", "img_id", "model", "prompt", "quality") if body.get(f) in (None, "")]
    if missing:
        return 400011, f"Empty parameter: {', '.join(missing)}"
    if not isinstance(body["img_id"], int) or not isinstance(body["duration"], int):
        return 400013, "Invalid binding request: incorrect parameter type or value"
    if body["img_id"] not in images:
        return 400032, "Invalid image ID"
    if len(body["prompt"]) > 2048 or len(body.get("negative_prompt", "")) > 2048:
        return 400018, "Prompt/negative prompt length exceeds 2048 characters limit."
    durations = {5, 8, 10} if body["model"] in ("v5.5", "v5.6") else {5, 8}
    if body["model"] not in MODELS or body["quality"] not in QUALITIES or body["duration"] not in durations:
        return 400017, "Invalid parameter"
    if body.get("motion_mode", "normal") not in ("normal", "fast") or (
            body.get("motion_mode") == "fast" and body["duration"] != 5):
        return 400017, "Invalid parameter: motion_mode"
    if body["quality"] == "1080p" and (body["duration"] == 8 or body.get("motion_mode") == "fast"):
        return 400017, "Invalid parameter: 1080p supports neither 8 s clips nor fast motion"
    seed = body.get("seed", 0)
    if not isinstance(seed, int) or not 0 <= seed <= 2_147_483_647:
        return 400017, "Invalid parameter: seed"
    return None


def parse_multipart(content_type: str, body: bytes) -> dict[str, tuple[str, str, bytes]] | None:
    """{field: (filename, content type, bytes)} of a multipart/form-data body, or None if it is not one."""
    if not content_type.startswith("multipart/form-data") or "boundary=" not in content_type:
        return None
    message = email.message_from_bytes(f"Content-Type: {content_type}\r\n\r\n".encode() + body,
                                       policy=email.policy.HTTP)
    fields = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if name:
            fields[str(name)] = (part.get_filename() or "", part.get_content_type(), part.get_payload(decode=True))
    return fields


@contextmanager
def serve_pixverse(api_key: str = "pv-test-key") -> Iterator[PixverseDouble]:
    """Run a PixverseDouble; yield it (its `base_url` set). Hanging requests are released on exit."""
    double = PixverseDouble(api_key)
    sample_clip()
    with serve_double(double, double.app, health_path="/docs") as served:
        yield served
