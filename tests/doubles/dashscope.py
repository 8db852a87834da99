"""A local DashScope double: the async-task API (text-to-image, image-to-video, /tasks), result files behind
expiring signed URLs, and the CosyVoice duplex WebSocket — with the vendor's request checks and error shapes.

Rules, each with its source (re-check them there):
* Async tasks: `X-DashScope-Async: enable` on creation, `GET /tasks/{id}`, cancel only while PENDING, result URLs
  that expire — dashscope SDK `client/base_api.py`; …/help/en/model-studio/manage-asynchronous-tasks.
* t2i models and sizes — …/text-to-image-v2-api-reference. i2v models, durations and resolutions per model —
  …/image-to-video-api-reference (Beijing names `wanx2.1-i2v-*`, Singapore names `wan2.1-i2v-*`). The prompt is
  **truncated, not refused**, past the model's limit (800 characters; wan2.5/2.6 2000) — the same page ("any excess
  is automatically truncated"); the truncated prompt shows as `orig_prompt`.
* CosyVoice WebSocket (`run-task` duplex → `task-started` → `continue-task`… → `finish-task` → audio frames →
  `task-finished`, or `task-failed` with `error_code`/`error_message`) — SDK `audio/tts_v2/speech_synthesizer.py`,
  …/cosyvoice-websocket-api. `task_id`: any UUID (the SDK sends `uuid4().hex`; the WebSocket API docs use the
  dashed form).
* CosyVoice models per region: Beijing cosyvoice-v2, cosyvoice-v3-flash/-plus, cosyvoice-v3.5-flash/-plus;
  Singapore cosyvoice-v3-flash/-plus; cosyvoice-v1 nowhere — …/model-studio/text-to-speech "Supported models",
  …/ssml-latex-user-guide (v3.5: Beijing only, cloned/designed voices only). A model the double's `region` does not
  offer fails the task (`ModelNotFound`; the code the live service uses for this case is not confirmed).
* Voices per model (v2 ↔ `*_v2`; v1 ↔ unsuffixed; v3 ↔ its system voices; a cloned/designed id
  `cosyvoice-<model>-…` ↔ that model); a mismatch fails with the opaque `[tts:]Engine return error code: 418` —
  …/cosyvoice-voice-list and observed answers.
* `enable_ssml: true` makes the text SSML: it must then come in a single continue-task
  (…/introduction-to-cosyvoice-ssml-markup-language, "WebSocket API: set enable_ssml to true and send continue-task
  only once") and be well-formed markup — a bare `<` or `&` fails the task (`InvalidParameter`; inferred from SSML
  being XML, not confirmed against the live service). Without it the text is plain text and `<`/`&` are just
  characters.

Scripts (set on the double by a test): `throttle_next` submissions answer 429 Throttling.RateQuota;
`throttle_polls` task lookups do; `fail_next` = (code, message) makes the next task end FAILED; `hang` makes tasks
stay `hang_status` forever; `result_url` replaces the result URL; `tts_fail` = (code, message) and
`tts_throttle_next` make run-task answer task-failed; `tts_hang` stops after task-started.
Records: `submissions` (every POST, rejected ones too), `polls`, `cancelled`, `tts_runs`.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import hmac
import io
import math
import os
import re
import subprocess
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

from fastapi import FastAPI, Request, WebSocket, WebSocketDisconnect
from fastapi.responses import JSONResponse, Response
from PIL import Image, ImageDraw

from tests.doubles.clips import tone_pcm, wav_of

T2I_PATH = "/api/v1/services/aigc/text2image/image-synthesis"
I2V_PATH = "/api/v1/services/aigc/video-generation/video-synthesis"
WS_PATH = "/api-ws/v1/inference"
FINAL = ("SUCCEEDED", "FAILED", "CANCELED", "UNKNOWN")
T2I_MODELS = {"wanx-v1", "wanx2.0-t2i-turbo", "wanx2.1-t2i-turbo", "wanx2.1-t2i-plus", "wan2.2-t2i-flash",
              "wan2.2-t2i-plus", "wan2.5-t2i-preview"}
WANX_V1_SIZES = {"1024*1024", "720*1280", "1280*720", "768*1152"}
#: model → (durations, resolutions, has_audio)
I2V_MODELS = {"wan2.5-i2v-preview": ((5, 10), ("480P", "720P", "1080P"), True),
              "wan2.2-i2v-flash": ((5,), ("480P", "720P"), False),
              "wan2.2-i2v-plus": ((5,), ("480P", "1080P"), False),
              "wanx2.1-i2v-turbo": ((3, 4, 5), ("480P", "720P"), False),
              "wanx2.1-i2v-plus": ((5,), ("720P",), False),
              "wan2.1-i2v-turbo": ((3, 4, 5), ("480P", "720P"), False),
              "wan2.1-i2v-plus": ((5,), ("720P",), False)}
#: i2v model names per region (Singapore spells the 2.1 models wan2.1-…, Beijing wanx2.1-…)
I2V_REGION_ONLY = {"wanx2.1-i2v-turbo": "cn-beijing", "wanx2.1-i2v-plus": "cn-beijing",
                   "wan2.1-i2v-turbo": "ap-southeast-1", "wan2.1-i2v-plus": "ap-southeast-1"}
#: the prompt length past which the vendor cuts (it does not refuse)
I2V_PROMPT_CHARS = {"wan2.5-i2v-preview": 2000, "wan2.6-i2v": 2000}
TTS_REGION_MODELS = {
    "cn-beijing": {"cosyvoice-v2", "cosyvoice-v3-flash", "cosyvoice-v3-plus", "cosyvoice-v3.5-flash",
                   "cosyvoice-v3.5-plus"},
    "ap-southeast-1": {"cosyvoice-v3-flash", "cosyvoice-v3-plus"},
}
TTS_V1_VOICES = {"longwan", "longcheng", "longhua", "longxiaochun", "longxiaoxia", "longxiaocheng", "longxiaobai",
                 "longlaotie", "longshu", "longshuo", "longjing", "longmiao", "longyue", "longyuan", "longfei"}
TTS_V3_VOICES = {"longanyang", "longanhuan", "longhuhu_v3"}
TTS_RATES = {"wav": (8000, 16000, 22050, 24000, 44100, 48000), "pcm": (8000, 16000, 22050, 24000, 44100, 48000),
             "mp3": (8000, 16000, 22050, 24000, 44100, 48000)}


def rid() -> str:
    return str(uuid.uuid4())


def error(status: int, code: str, message: str) -> JSONResponse:
    """The vendor's error shape."""
    return JSONResponse({"request_id": rid(), "code": code, "message": message}, status_code=status)


@dataclass
class Task:
    id: str
    kind: str
    body: dict[str, Any]
    status: str = "PENDING"
    polls: int = 0
    fail: tuple[str, str] | None = None
    hang: bool = False
    url: str = ""
    submitted: str = field(default_factory=lambda: time.strftime("%Y-%m-%d %H:%M:%S.000"))


class DashScopeDouble:
    def __init__(self, api_key: str = "sk-double", *, polls_to_finish: int = 2, url_ttl_s: float = 30.0,
                 region: str = "cn-beijing"):
        self.api_key, self.polls_to_finish, self.url_ttl_s = api_key, polls_to_finish, url_ttl_s
        self.home_region = region
        self._secret = os.urandom(16)
        self.reset()
        self.app = self._build()

    def reset(self) -> None:
        self.region = self.home_region  # the region whose endpoint this double plays
        self.tasks: dict[str, Task] = {}
        self.files: dict[str, tuple[bytes, str]] = {}
        self.submissions: list[dict[str, Any]] = []
        self.polls, self.cancelled, self.tts_runs = 0, [], []
        self.throttle_next = self.throttle_polls = self.tts_throttle_next = 0
        self.fail_next: tuple[str, str] | None = None
        self.hang, self.hang_status = False, "RUNNING"
        self.result_url: str | None = None
        self.tts_fail: tuple[str, str] | None = None
        self.tts_hang = False

    # --- checks -------------------------------------------------------------------------------------------

    def auth_error(self, authorization: str | None) -> JSONResponse | None:
        if not authorization:
            return error(401, "InvalidApiKey", "No API-key provided.")
        if authorization != f"Bearer {self.api_key}":
            return error(401, "InvalidApiKey", "Invalid API-key provided.")
        return None

    def sign(self, name: str, expires: int) -> str:
        return hmac.new(self._secret, f"{name}:{expires}".encode(), hashlib.sha256).hexdigest()

    # --- app ----------------------------------------------------------------------------------------------

    def _build(self) -> FastAPI:
        app = FastAPI()
        app.post(T2I_PATH)(self._submitter("t2i", check_t2i))
        app.post(I2V_PATH)(self._submitter("i2v", lambda body: check_i2v(body, self.region)))
        app.get("/api/v1/tasks/{task_id}")(self.get_task)
        app.post("/api/v1/tasks/{task_id}/cancel")(self.cancel_task)
        app.get("/results/{name}")(self.get_result)
        app.websocket(WS_PATH)(self.tts)
        return app

    def _submitter(self, kind: str, check):
        async def submit(request: Request) -> Response:
            try:
                body = await request.json()
            except ValueError:
                return error(400, "InvalidParameter", "The request body is not valid JSON.")
            self.submissions.append({"kind": kind, "headers": dict(request.headers), "body": body})
            if (denied := self.auth_error(request.headers.get("authorization"))) is not None:
                return denied
            if request.headers.get("x-dashscope-async") != "enable":
                return error(403, "AccessDenied", "current user api does not support synchronous calls")
            if self.throttle_next > 0:
                self.throttle_next -= 1
                return error(429, "Throttling.RateQuota", "Requests rate limit exceeded, please try again later.")
            if problem := check(body):
                return error(400, *problem)
            task = Task(rid(), kind, body, fail=self.fail_next, hang=self.hang)
            self.fail_next = None
            self.tasks[task.id] = task
            return JSONResponse({"request_id": rid(), "output": {"task_id": task.id, "task_status": "PENDING"}})
        return submit

    async def get_task(self, task_id: str, request: Request) -> Response:
        self.polls += 1
        if (denied := self.auth_error(request.headers.get("authorization"))) is not None:
            return denied
        if self.throttle_polls > 0:
            self.throttle_polls -= 1
            return error(429, "Throttling.RateQuota", "Requests rate limit exceeded, please try again later.")
        task = self.tasks.get(task_id)
        if task is None:
            return JSONResponse({"request_id": rid(), "output": {"task_id": task_id, "task_status": "UNKNOWN"}})
        await self._advance(task, str(request.base_url))
        return JSONResponse(self._view(task))

    async def cancel_task(self, task_id: str, request: Request) -> Response:
        if (denied := self.auth_error(request.headers.get("authorization"))) is not None:
            return denied
        task = self.tasks.get(task_id)
        if task is None or task.status != "PENDING":
            return error(400, "UnsupportedOperation", "Failed to cancel the task, please confirm if the task is "
                                                      "in PENDING status.")
        task.status = "CANCELED"
        self.cancelled.append(task_id)
        return JSONResponse({"request_id": rid()})

    async def get_result(self, name: str, request: Request) -> Response:
        expires, signature = request.query_params.get("Expires", ""), request.query_params.get("Signature", "")
        oss_error = "<Error><Code>{}</Code><Message>{}</Message></Error>"
        if not expires.isdigit() or not hmac.compare_digest(signature, self.sign(name, int(expires))):
            return Response(oss_error.format("SignatureDoesNotMatch", "The signature does not match."), 403,
                            media_type="application/xml")
        if time.time() > int(expires):
            return Response(oss_error.format("AccessDenied", "Request has expired."), 403,
                            media_type="application/xml")
        data, media_type = self.files[name]
        return Response(data, media_type=media_type)

    # --- tasks --------------------------------------------------------------------------------------------

    async def _advance(self, task: Task, base_url: str) -> None:
        task.polls += 1
        if task.status in FINAL:
            return
        if task.hang:
            task.status = self.hang_status
        elif task.polls < self.polls_to_finish:
            task.status = "RUNNING"
        elif task.fail:
            task.status = "FAILED"
        else:
            name, data, media_type = await asyncio.to_thread(make_result, task)
            self.files[name] = (data, media_type)
            expires = int(math.ceil(time.time() + self.url_ttl_s))
            signed = f"{base_url}results/{name}?Expires={expires}&Signature={self.sign(name, expires)}"
            task.url = self.result_url or signed
            task.status = "SUCCEEDED"

    def _view(self, task: Task) -> dict[str, Any]:
        out: dict[str, Any] = {"task_id": task.id, "task_status": task.status, "submit_time": task.submitted}
        usage = None
        if task.status == "FAILED" and task.fail:
            out.update(code=task.fail[0], message=task.fail[1])
        elif task.status == "SUCCEEDED" and task.kind == "t2i":
            prompt = task.body["input"]["prompt"]
            out.update(results=[{"orig_prompt": prompt, "actual_prompt": prompt, "url": task.url}],
                       task_metrics={"TOTAL": 1, "SUCCEEDED": 1, "FAILED": 0})
            usage = {"image_count": 1}
        elif task.status == "SUCCEEDED":
            prompt = (task.body["input"].get("prompt") or "")[:I2V_PROMPT_CHARS.get(task.body["model"], 800)]
            out.update(video_url=task.url, orig_prompt=prompt)
            usage = {"video_count": 1, "video_duration": task.body["parameters"]["duration"], "video_ratio": "16:9"}
        return {"request_id": rid(), "output": out, **({"usage": usage} if usage else {})}

    # --- CosyVoice WebSocket ------------------------------------------------------------------------------

    async def tts(self, ws: WebSocket) -> None:
        if (denied := self.auth_error(ws.headers.get("authorization"))) is not None:
            await ws.send_denial_response(denied)
            return
        await ws.accept()
        run = await ws.receive_json()
        header = run.get("header", {})
        record = {"headers": dict(ws.headers), "run_task": run, "texts": []}
        self.tts_runs.append(record)
        task_id = header.get("task_id", "")
        failure = check_run_task(run, self.region) or self._scripted_tts_failure()
        if failure:
            await ws.send_json(event(task_id, "task-failed", error_code=failure[0], error_message=failure[1]))
            return await _drain(ws)
        await ws.send_json(event(task_id, "task-started"))
        if self.tts_hang:
            return await _drain(ws)
        while (msg := await ws.receive_json())["header"].get("action") == "continue-task":
            if msg["header"].get("task_id") != task_id or not isinstance(msg["payload"]["input"].get("text"), str):
                await ws.send_json(event(task_id, "task-failed", error_code="InvalidParameter",
                                         error_message="continue-task without the task's id or text"))
                return await _drain(ws)
            record["texts"].append(msg["payload"]["input"]["text"])
        if run["payload"]["parameters"].get("enable_ssml") and (problem := check_ssml(record["texts"])):
            await ws.send_json(event(task_id, "task-failed", error_code="InvalidParameter", error_message=problem))
            return await _drain(ws)
        if msg["header"].get("action") != "finish-task":
            await ws.send_json(event(task_id, "task-failed", error_code="InvalidParameter",
                                     error_message=f"unexpected action {msg['header'].get('action')}"))
            return await _drain(ws)
        params = run["payload"]["parameters"]
        audio = await asyncio.to_thread(speech, "".join(record["texts"]), params["format"], params["sample_rate"])
        for start in range(0, len(audio), 4096):
            await ws.send_bytes(audio[start:start + 4096])
        await ws.send_json(event(task_id, "result-generated"))
        await ws.send_json(event(task_id, "task-finished", usage={"characters": len("".join(record["texts"]))}))
        await _drain(ws)

    def _scripted_tts_failure(self) -> tuple[str, str] | None:
        if self.tts_throttle_next > 0:
            self.tts_throttle_next -= 1
            return "Throttling.RateQuota", "Requests rate limit exceeded, please try again later."
        return self.tts_fail


# --- request checks (pure) ----------------------------------------------------------------------------------


def check_t2i(body: dict[str, Any]) -> tuple[str, str] | None:
    model, prompt = body.get("model"), (body.get("input") or {}).get("prompt")
    params = body.get("parameters") or {}
    if not model:
        return "BadRequest.EmptyModel", "Required parameter(s) missing or invalid: model."
    if model not in T2I_MODELS:
        return "InvalidParameter", "Model not exist."
    if not isinstance(prompt, str) or not prompt.strip():
        return "InvalidParameter", "Field required: input.prompt"
    if not 1 <= params.get("n", 4) <= 4 or not 0 <= params.get("seed", 0) <= 2_147_483_647:
        return "InvalidParameter", "parameters.n must be 1-4 and parameters.seed 0-2147483647."
    size = params.get("size", "1024*1024")
    match = re.fullmatch(r"(\d+)\*(\d+)", size)
    if model == "wanx-v1":
        ok = size in WANX_V1_SIZES
    elif match:
        w, h = int(match[1]), int(match[2])
        lo, hi = (768 * 768, 1440 * 1440) if model.startswith("wan2.5") else (0, 2_000_000)
        ok = 512 <= w <= 1440 and 512 <= h <= 1440 and lo <= w * h <= hi
    else:
        ok = False
    return None if ok else ("InvalidParameter", f"The size {size} is not supported by {model}.")


def check_i2v(body: dict[str, Any], region: str = "cn-beijing") -> tuple[str, str] | None:
    """The refusal of an i2v body (a prompt over the model's limit is not one: the vendor cuts it)."""
    model, inp, params = body.get("model"), body.get("input") or {}, body.get("parameters") or {}
    if model not in I2V_MODELS or I2V_REGION_ONLY.get(model, region) != region:
        return "InvalidParameter", "Model not exist."
    durations, resolutions, _ = I2V_MODELS[model]
    if params.get("resolution", resolutions[0]) not in resolutions:
        return "InvalidParameter", f"The resolution {params.get('resolution')} is not supported by {model}."
    if params.get("duration", 5) not in durations:
        return "InvalidParameter", f"The duration {params.get('duration')} is not supported by {model}."
    return check_img_url(inp.get("img_url"))


def check_img_url(url: Any) -> tuple[str, str] | None:
    if not isinstance(url, str) or not url:
        return "InvalidParameter", "Field required: input.img_url"
    if re.match(r"https?://[^/]+", url):
        return None
    match = re.fullmatch(r"data:image/(png|jpeg|jpg|webp|bmp);base64,(.+)", url, re.S)
    if not match:
        return "InvalidParameter.DataInspection", "The img_url is neither a http(s) URL nor a base64 data URI."
    try:
        data = base64.b64decode(match[2], validate=True)
        with Image.open(io.BytesIO(data)) as img:
            w, h = img.size
    except (binascii.Error, OSError):
        return "InvalidParameter", "The image in img_url cannot be decoded."
    if len(data) > 10 * 1024 * 1024 or not (360 <= w <= 2000 and 360 <= h <= 2000):
        return "InvalidParameter", f"The image size {w}x{h} is out of range [360, 2000] or over 10MB."
    return None


def check_run_task(run: dict[str, Any], region: str = "cn-beijing") -> tuple[str, str] | None:
    header, payload = run.get("header", {}), run.get("payload", {})
    params = payload.get("parameters", {})
    if header.get("action") != "run-task" or header.get("streaming") != "duplex":
        return "InvalidParameter", "The first message must be run-task with streaming=duplex."
    try:
        uuid.UUID(str(header.get("task_id", "")))
    except ValueError:
        return "InvalidParameter", "header.task_id must be a UUID."
    if (payload.get("task_group"), payload.get("task"), payload.get("function")) != ("audio", "tts",
                                                                                     "SpeechSynthesizer"):
        return "InvalidParameter", "payload must name task_group audio, task tts, function SpeechSynthesizer."
    model, voice = payload.get("model", ""), params.get("voice", "")
    if model not in TTS_REGION_MODELS.get(region, set()):
        return "ModelNotFound", f"Model not found ({model})."
    if voice.startswith("cosyvoice-"):  # a cloned or designed voice belongs to the model it was made for
        fits = voice.startswith(f"{model}-")
    else:
        fits = {"cosyvoice-v1": voice in TTS_V1_VOICES, "cosyvoice-v2": voice.endswith("_v2"),
                "cosyvoice-v3.5-flash": False, "cosyvoice-v3.5-plus": False}.get(model, voice in TTS_V3_VOICES)
    if not fits:
        return "InvalidParameter", "[tts:]Engine return error code: 418"
    if params.get("sample_rate") not in TTS_RATES.get(params.get("format"), ()):
        return "InvalidParameter", f"Unsupported format/sample_rate {params.get('format')}/{params.get('sample_rate')}."
    return None


def check_ssml(texts: list[str]) -> str | None:
    """Why texts sent with enable_ssml cannot be read as SSML, or None."""
    if len(texts) != 1:
        return "SSML text must be sent in a single continue-task."
    text = texts[0] if texts[0].lstrip().startswith("<speak") else f"<speak>{texts[0]}</speak>"
    try:
        ElementTree.fromstring(text)
    except ElementTree.ParseError as exc:
        return f"SSML parse error: {exc}"
    return None


# --- media --------------------------------------------------------------------------------------------------


def event(task_id: str, name: str, *, usage: dict | None = None, **header: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {"output": {}} if usage is None else {"usage": usage}
    return {"header": {"task_id": task_id, "event": name, "attributes": {}, **header}, "payload": payload}


async def _drain(ws: WebSocket) -> None:
    try:
        while True:
            await ws.receive()
    except (WebSocketDisconnect, RuntimeError):
        return


def make_result(task: Task) -> tuple[str, bytes, str]:
    """A real PNG of the asked size, or a real MP4 of the asked length at the tier's size."""
    params = task.body.get("parameters") or {}
    if task.kind == "t2i":
        w, h = (int(v) for v in params.get("size", "1024*1024").split("*"))
        img = Image.new("RGB", (w, h), (30, 60, 120))
        ImageDraw.Draw(img).ellipse((w // 4, h // 4, 3 * w // 4, 3 * h // 4), fill=(240, 200, 60))
        buf = io.BytesIO()
        img.save(buf, format="PNG")
        return f"{task.id}.png", buf.getvalue(), "image/png"
    short = int(params.get("resolution", "480P")[:-1])
    w, h = _aspect(task.body["input"]["img_url"])
    vw, vh = (round(short * w / h / 2) * 2, short) if w >= h else (short, round(short * h / w / 2) * 2)
    return f"{task.id}.mp4", clip(vw, vh, params.get("duration", 5), audio=I2V_MODELS[task.body["model"]][2]), \
        "video/mp4"


def _aspect(img_url: str) -> tuple[int, int]:
    if img_url.startswith("data:"):
        with Image.open(io.BytesIO(base64.b64decode(img_url.split(",", 1)[1]))) as img:
            return img.size
    return 16, 9


def clip(width: int, height: int, seconds: float, *, audio: bool) -> bytes:
    """An H.264 MP4 from ffmpeg's test source (16 fps like wan2.1), with a sine track when `audio`."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "clip.mp4"
        sound = ["-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}"] if audio else []
        subprocess.run(["ffmpeg", "-v", "error", "-f", "lavfi", "-i",
                        f"testsrc2=size={width}x{height}:rate=16:duration={seconds}", *sound,
                        "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", str(out)], check=True)
        return out.read_bytes()


def speech(text: str, fmt: str, rate: int) -> bytes:
    """A tone of 0.2 s per character in the asked format: a WAV (header + PCM), raw PCM, or MP3."""
    pcm = tone_pcm(max(int(rate * 0.2 * len(text)), rate // 5), rate)
    if fmt == "pcm":
        return pcm
    wav = wav_of(pcm, rate)
    if fmt == "wav":
        return wav
    return subprocess.run(["ffmpeg", "-v", "error", "-f", "wav", "-i", "pipe:0", "-c:a", "libmp3lame", "-f", "mp3",
                           "pipe:1"], input=wav, capture_output=True, check=True).stdout
