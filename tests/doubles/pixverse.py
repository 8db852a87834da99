"""A Pixverse platform API double (v2 image-to-video), plus a "CDN" route serving the result clip.

It checks what the real API checks: the `API-KEY` header, an `Ai-trace-id` that is a UUID never
used before, the multipart `image` upload (a decodable png/jpeg/webp), and the img2video body
(required fields, model, duration, quality, motion mode, seed and prompt limits). Answers use the
`{ErrCode, ErrMsg, Resp}` envelope with the documented codes.

Scriptable: `http_errors[endpoint]` (HTTP statuses answered first), `raw[endpoint]` ((status, body)
answered first), `errcodes[endpoint]` (ErrCode/ErrMsg on HTTP 200 first), `final_status` (1, 7 or 8),
`polls_until_done`, `stuck` (status 5 forever), `hang` (endpoints that never answer until released).
Endpoints: upload, generate, result, balance, media.
"""

from __future__ import annotations

import email
import email.policy
import functools
import io
import tempfile
import uuid
from collections import defaultdict, deque
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from PIL import Image

from tests.doubles.clips import make_clip
from tests.doubles.serving import RecordedCalls, serve_double

MODELS = {"v3.5", "v4", "v4.5", "v5", "v5.5", "v5.6"}
QUALITIES = {"360p", "540p", "720p", "1080p"}
IMAGE_TYPES = {"image/png", "image/jpeg", "image/jpg", "image/webp"}


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

    async def _gate(self, endpoint: str, request: Request) -> JSONResponse | None:
        """Record the call; apply auth, trace-id and scripted failures. None = go on normally."""
        await self._record(endpoint)
        if request.headers.get("API-KEY") != self.api_key:
            return envelope(400012, "Invalid account", status=401)
        trace = request.headers.get("Ai-trace-id", "")
        try:
            uuid.UUID(trace)
        except ValueError:
            return envelope(400011, "Empty parameter: Ai-trace-id must be a UUID", status=400)
        if trace in self.trace_ids:
            return envelope(400017, "Invalid parameter: Ai-trace-id has already been used")
        self.trace_ids.add(trace)
        if (status := self._scripted_status(endpoint)) is not None:
            return envelope(500100 if status >= 500 else 400017, f"scripted HTTP {status}", status=status)
        if self.raw[endpoint]:
            status, body = self.raw[endpoint].popleft()
            return JSONResponse(body, status_code=status)
        if self.errcodes[endpoint]:
            code, msg = self.errcodes[endpoint].popleft()
            return envelope(code, msg)
        return None

    def _new_id(self) -> int:
        self._next_id += 1
        return self._next_id

    async def upload(self, request: Request) -> Response:
        if failed := await self._gate("upload", request):
            return failed
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
        if failed := await self._gate("generate", request):
            return failed
        try:
            body = await request.json()
        except ValueError:
            return envelope(400013, "Invalid binding request: body is not JSON")
        if problem := check_generate(body, self.images):
            return envelope(*problem)
        self.generate_bodies.append(body)
        video_id = self._new_id()
        self.videos[video_id] = {"polls": 0, "body": body}
        return envelope(resp={"video_id": video_id, "credits": 45})

    async def result(self, video_id: int, request: Request) -> Response:
        if failed := await self._gate("result", request):
            return failed
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
        if failed := await self._gate("balance", request):
            return failed
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
