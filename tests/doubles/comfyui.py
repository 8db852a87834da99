"""A ComfyUI double: the HTTP routes and the /ws WebSocket we use, validating graphs as ComfyUI does.

POST /prompt checks the graph like `execution.validate_prompt` (class_type present and known,
an output node, required inputs, links to existing nodes, installed model files, uploaded
LoadImage files, seed range) and answers 400 `{error, node_errors}` in ComfyUI's shape. An accepted
prompt runs in the background, one at a time, sending the WebSocket sequence (status,
execution_start, execution_cached, executing, progress + binary previews, executed,
executing null, execution_success — or execution_error), then writes a real output (PNG with
Pillow at the latent size × batch_size, or MP4 with FFmpeg at the video's size, frames and fps)
served by /view, and records /history. Failure modes are attributes a test sets. Sources of the prompt, history,
view, upload and WebSocket rules: comfyanonymous/ComfyUI `server.py`, `execution.py` (`validate_prompt`),
`script_examples/websockets_api_example.py`, and docs.comfy.org "comms_routes" / "comms_messages".

Queue rules, from comfyanonymous/ComfyUI `server.py` and `execution.py` (`PromptQueue`):
* `GET /queue` → `{"queue_running": [tuple], "queue_pending": [tuple]}`, tuple = `[number, prompt_id, prompt,
  extra_data, outputs_to_execute]` (`get_current_queue`).
* `POST /queue {"delete": [ids]}` removes *pending* prompts only (`delete_queue_item` looks at the pending heap);
  a running prompt is not touched. `{"clear": true}` empties the pending queue.
* `POST /interrupt` stops the *running* prompt, never a pending one (`nodes.interrupt_processing`). Servers since
  late August 2025 read an optional `{"prompt_id"}` body and interrupt only when that prompt is the running one
  ("Prompt … is not currently running, skipping interrupt"); older servers (`targeted_interrupt=False` here)
  ignore the body and interrupt whatever runs — another client's prompt included.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from email.parser import BytesParser
from email.policy import HTTP
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request, WebSocket, WebSocketDisconnect
from fastapi.responses import FileResponse, JSONResponse, PlainTextResponse
from PIL import Image

#: Known node classes → required inputs (a subset of each node's INPUT_TYPES "required").
NODES: dict[str, tuple[str, ...]] = {
    "CheckpointLoaderSimple": ("ckpt_name",),
    "UNETLoader": ("unet_name", "weight_dtype"),
    "CLIPLoader": ("clip_name", "type"),
    "DualCLIPLoader": ("clip_name1", "clip_name2", "type"),
    "VAELoader": ("vae_name",),
    "CLIPVisionLoader": ("clip_name",),
    "LoadImage": ("image",),
    "CLIPVisionEncode": ("clip_vision", "image", "crop"),
    "CLIPTextEncode": ("text", "clip"),
    "EmptyLatentImage": ("width", "height", "batch_size"),
    "EmptySD3LatentImage": ("width", "height", "batch_size"),
    "ModelSamplingAuraFlow": ("model", "shift"),
    "ModelSamplingSD3": ("model", "shift"),
    "KSampler": ("model", "seed", "steps", "cfg", "sampler_name", "scheduler", "positive", "negative",
                 "latent_image", "denoise"),
    "VAEDecode": ("samples", "vae"),
    "SaveImage": ("images", "filename_prefix"),
    "HunyuanVideo15ImageToVideo": ("positive", "negative", "vae", "width", "height", "length", "batch_size"),
    "CFGGuider": ("model", "positive", "negative", "cfg"),
    "BasicScheduler": ("model", "scheduler", "steps", "denoise"),
    "KSamplerSelect": ("sampler_name",),
    "RandomNoise": ("noise_seed",),
    "SamplerCustomAdvanced": ("noise", "guider", "sampler", "sigmas", "latent_image"),
    "CreateVideo": ("images", "fps"),
    "SaveVideo": ("video", "filename_prefix", "format", "codec"),
}
OUTPUT_NODES = {"SaveImage", "SaveVideo"}
SAMPLERS = {"KSampler", "SamplerCustomAdvanced"}
MODEL_INPUTS = {"ckpt_name", "unet_name", "clip_name", "clip_name1", "clip_name2", "vae_name"}
PREVIEW = b"\x00\x00\x00\x01\x00\x00\x00\x02"  # event PREVIEW_IMAGE, format PNG, then the image bytes


class ComfyDouble:
    """One fake ComfyUI host. Serve `double.app`; read what it received from its attributes."""

    def __init__(self, root: Path, *, steps: int = 3, step_s: float = 0.02):
        self.output_dir, self.input_dir = root / "output", root / "input"
        self.output_dir.mkdir(parents=True, exist_ok=True)
        self.input_dir.mkdir(parents=True, exist_ok=True)
        self.steps, self.step_s = steps, step_s
        # what it received
        self.prompts: list[dict] = []          # accepted POST /prompt bodies
        self.rejected: list[dict] = []         # 4xx/5xx-answered bodies
        self.uploads: list[str] = []
        self.interrupts: list[dict] = []
        self.queue_deletes: list[str] = []
        self.history_gets = 0
        self.ws_opened = 0
        self.ws_dropped = 0
        self.max_outstanding = 0               # most prompts queued or running at once
        # scriptable failures
        self.prompt_statuses: list[int] = []   # the next POST /prompt calls answer these (e.g. [500])
        self.missing_models: set[str] = set()  # model files "not installed" → value_not_in_list
        self.execution_error: dict[str, str] | None = None  # {"node_type", "exception_type", "exception_message"}
        self.refuse_ws = False                 # the /ws handshake is refused (403)
        self.drop_ws = False                   # sockets are closed right after execution_start
        self.hang = False                      # accepted prompts never finish (until /interrupt)
        self.targeted_interrupt = True         # False: an "old" server, /interrupt ignores its body
        self.history_lag_s = 0.05              # execution_success is sent before history is recorded
        self.history: dict[str, dict] = {}
        self.runs: list[tuple[str, float, float]] = []  # (prompt_id, start, end) in time.time() of each run
        self.running: tuple | None = None      # the queue tuple of the prompt being executed
        self.pending: list[tuple] = []         # queue tuples waiting, in order
        self.interrupted: list[str] = []       # prompt ids /interrupt actually stopped
        self._sockets: dict[str, list[WebSocket]] = {}
        self._tasks: dict[str, asyncio.Task] = {}
        self._lock: asyncio.Lock | None = None
        self._outstanding = 0
        self._counter = 0
        self.app = self._build()

    @property
    def graphs(self) -> list[dict]:
        return [body["prompt"] for body in self.prompts]

    # --- validation (pure) -------------------------------------------------------------------
    def validate(self, body: Any) -> dict | None:
        """ComfyUI's 400 body for an invalid POST /prompt body; None when it is valid."""
        graph = body.get("prompt") if isinstance(body, dict) else None
        if not isinstance(graph, dict):
            return _error("no_prompt", "No prompt provided", "No prompt provided")
        for node_id, node in graph.items():
            if not isinstance(node, dict) or "class_type" not in node:
                return _error("invalid_prompt", "Cannot execute because a node is missing the class_type property.",
                              f"Node ID '#{node_id}'")
            if node["class_type"] not in NODES:
                return _error("missing_node_type", f"Node '{node['class_type']}' not found. The custom node may "
                              "not be installed.", f"Node ID '#{node_id}'")
        outputs = [n for n, node in graph.items() if node["class_type"] in OUTPUT_NODES]
        if not outputs:
            return _error("prompt_no_outputs", "Prompt has no outputs", "")
        node_errors = {}
        for node_id, node in graph.items():
            errors = self.node_problems(graph, node)
            if errors:
                node_errors[node_id] = {"errors": errors, "dependent_outputs": outputs,
                                        "class_type": node["class_type"]}
        if node_errors:
            body = _error("prompt_outputs_failed_validation", "Prompt outputs failed validation", "")
            return {**body, "node_errors": node_errors}
        return None

    def node_problems(self, graph: dict, node: dict) -> list[dict]:
        inputs = node.get("inputs") if isinstance(node.get("inputs"), dict) else {}
        problems = [_input_error("required_input_missing", "Required input is missing", name, name)
                    for name in NODES[node["class_type"]] if name not in inputs]
        for name, value in inputs.items():
            if isinstance(value, list) and (len(value) != 2 or value[0] not in graph):
                problems.append(_input_error("bad_linked_input", "Bad linked input, must be a length-2 list of "
                                             "[string, int]", f"{name}, {value}", name))
            elif name in MODEL_INPUTS and value in self.missing_models:
                problems.append(_input_error("value_not_in_list", "Value not in list",
                                             f"{name}: '{value}' not in []", name, value))
            elif name in ("seed", "noise_seed") and not (isinstance(value, int) and 0 <= value <= 2**64 - 1):
                problems.append(_input_error("value_bigger_than_max", "Value bigger than max",
                                             f"{name}, {value}", name, value))
        if node["class_type"] == "LoadImage" and inputs.get("image") not in self.uploads:
            problems.append(_input_error("custom_validation_failed", "Custom validation failed for node",
                                         f"image - Invalid image file: {inputs.get('image')}", "image"))
        return problems

    # --- execution -----------------------------------------------------------------------------
    async def _execute(self, prompt_id: str, number: int, body: dict) -> None:
        assert self._lock is not None
        entry = next(item for item in self.pending if item[1] == prompt_id)
        try:
            await self._lock.acquire()  # ComfyUI runs one prompt at a time
        except asyncio.CancelledError:  # deleted from the queue (or the server stops) before it ran
            self._outstanding -= 1
            return
        start = time.time()
        try:
            self.pending.remove(entry)
            self.running = entry
            await self._run(prompt_id, number, body)
        finally:
            self.runs.append((prompt_id, start, time.time()))
            self.running = None
            self._lock.release()

    async def _run(self, prompt_id: str, number: int, body: dict) -> None:
        graph, client_id = body["prompt"], body.get("client_id", "")
        messages: list[list] = []

        async def say(kind: str, data: dict) -> None:
            data = {**data, "prompt_id": prompt_id}
            if kind.startswith("execution_"):
                messages.append([kind, {**data, "timestamp": int(time.time() * 1000)}])
            await self._send(client_id, {"type": kind, "data": data})

        try:
            await self._run_nodes(graph, client_id, say)
        except _NodeFailed as failed:
            await say("execution_error", failed.payload)
            self._record(prompt_id, number, body, {}, messages, ok=False)
            return
        except asyncio.CancelledError:
            messages.append(["execution_interrupted", {"prompt_id": prompt_id, "node_id": None,
                                                       "node_type": None, "executed": []}])
            self._record(prompt_id, number, body, {}, messages, ok=False)
            return
        finally:
            self._outstanding -= 1
        out_id = next(n for n, node in graph.items() if node["class_type"] in OUTPUT_NODES)
        outputs = {out_id: await self._write_output(graph, graph[out_id])}
        await say("executed", {"node": out_id, "display_node": out_id, "output": outputs[out_id]})
        await say("executing", {"node": None, "display_node": None})
        await say("execution_success", {})
        await asyncio.sleep(self.history_lag_s)
        self._record(prompt_id, number, body, outputs, messages, ok=True)

    async def _run_nodes(self, graph: dict, client_id: str, say) -> None:
        await say("execution_start", {})
        await say("execution_cached", {"nodes": []})
        if self.drop_ws:
            for ws in self._sockets.pop(client_id, []):
                self.ws_dropped += 1
                with contextlib.suppress(Exception):
                    await ws.close(code=1011)
        if self.hang:
            await asyncio.Event().wait()
        for node_id, node in graph.items():
            await say("executing", {"node": node_id, "display_node": node_id})
            if node["class_type"] in SAMPLERS:
                for step in range(1, self.steps + 1):
                    await asyncio.sleep(self.step_s)
                    await say("progress", {"value": step, "max": self.steps, "node": node_id})
                    await self._send(client_id, PREVIEW + b"\x89PNG fake preview")
            failure = self.execution_error
            if failure and node["class_type"] == failure.get("node_type", node["class_type"]):
                raise _NodeFailed({"node_id": node_id, "node_type": node["class_type"], "executed": [],
                                   "exception_message": failure.get("exception_message", "boom"),
                                   "exception_type": failure.get("exception_type", "RuntimeError"),
                                   "traceback": ["Traceback (most recent call last):\n"],
                                   "current_inputs": {}, "current_outputs": []})

    async def _write_output(self, graph: dict, node: dict) -> dict:
        prefix = node["inputs"]["filename_prefix"]
        subfolder, _, stem = prefix.rpartition("/")
        folder = self.output_dir / subfolder
        folder.mkdir(parents=True, exist_ok=True)
        if node["class_type"] == "SaveImage":
            latent = next(n["inputs"] for n in graph.values() if n["class_type"].endswith("LatentImage"))
            files = []
            for index in range(latent["batch_size"]):
                name = self._name(stem, "png")
                Image.new("RGB", (latent["width"], latent["height"]), (40 * index, 90, 160)).save(folder / name)
                files.append({"filename": name, "subfolder": subfolder, "type": "output"})
            return {"images": files}
        video = next(n["inputs"] for n in graph.values() if n["class_type"] == "HunyuanVideo15ImageToVideo")
        fps = next(n["inputs"]["fps"] for n in graph.values() if n["class_type"] == "CreateVideo")
        name = self._name(stem, "mp4")
        await _ffmpeg(folder / name, width=video["width"], height=video["height"], frames=video["length"], fps=fps)
        return {"images": [{"filename": name, "subfolder": subfolder, "type": "output"}], "animated": [True]}

    def _name(self, stem: str, ext: str) -> str:
        self._counter += 1
        return f"{stem}_{self._counter:05d}_.{ext}"

    def _record(self, prompt_id: str, number: int, body: dict, outputs: dict, messages: list, *, ok: bool) -> None:
        self.history[prompt_id] = {
            "prompt": [number, prompt_id, body["prompt"], {"client_id": body.get("client_id")}, list(outputs)],
            "outputs": outputs,
            "status": {"status_str": "success" if ok else "error", "completed": ok, "messages": messages},
            "meta": {n: {"node_id": n, "display_node": n, "parent_node": None, "real_node_id": n} for n in outputs},
        }

    async def _send(self, client_id: str, message: dict | bytes) -> None:
        for ws in list(self._sockets.get(client_id, [])):
            with contextlib.suppress(Exception):
                await (ws.send_bytes(message) if isinstance(message, bytes) else ws.send_json(message))

    # --- routes -------------------------------------------------------------------------------
    def _build(self) -> FastAPI:
        app = FastAPI(lifespan=self._lifespan)
        app.middleware("http")(self._csrf_guard)
        app.add_api_route("/prompt", self.queue_prompt, methods=["POST"])
        app.add_api_route("/history/{prompt_id}", self.read_history, methods=["GET"])
        app.add_api_route("/view", self.view, methods=["GET"])
        app.add_api_route("/upload/image", self.upload_image, methods=["POST"])
        app.add_api_route("/queue", self.edit_queue, methods=["POST"])
        app.add_api_route("/queue", self.read_queue, methods=["GET"])
        app.add_api_route("/interrupt", self.interrupt, methods=["POST"])
        app.add_api_route("/system_stats", self.system_stats, methods=["GET"])
        app.add_api_websocket_route("/ws", self.socket)
        return app

    @contextlib.asynccontextmanager
    async def _lifespan(self, _: FastAPI):
        self._lock = asyncio.Lock()
        yield
        for task in self._tasks.values():
            task.cancel()

    async def _csrf_guard(self, request: Request, call_next):
        # ComfyUI refuses a loopback request whose Origin differs from its Host
        origin, host = request.headers.get("origin"), request.headers.get("host", "")
        if origin and origin.split("://", 1)[-1] != host:
            return PlainTextResponse("403: Forbidden", status_code=403)
        return await call_next(request)

    async def queue_prompt(self, request: Request):
        body = await request.json()
        if self.prompt_statuses:
            self.rejected.append(body)
            return PlainTextResponse("500 Internal Server Error\n\nServer got itself in trouble",
                                     status_code=self.prompt_statuses.pop(0))
        error = self.validate(body)
        if error is not None:
            self.rejected.append(body)
            return JSONResponse(error, status_code=400)
        self.prompts.append(body)
        prompt_id, number = str(uuid.uuid4()), len(self.prompts)
        self._outstanding += 1
        self.max_outstanding = max(self.max_outstanding, self._outstanding)
        extra = {**body.get("extra_data", {}), "client_id": body.get("client_id")}
        outputs = [n for n, node in body["prompt"].items() if node["class_type"] in OUTPUT_NODES]
        self.pending.append((number, prompt_id, body["prompt"], extra, outputs))
        self._tasks[prompt_id] = asyncio.create_task(self._execute(prompt_id, number, body))
        return {"prompt_id": prompt_id, "number": number, "node_errors": {}}

    async def read_history(self, prompt_id: str):
        self.history_gets += 1
        return {prompt_id: self.history[prompt_id]} if prompt_id in self.history else {}

    async def view(self, filename: str, subfolder: str = "", type: str = "output"):
        if ".." in filename or filename.startswith("/") or ".." in subfolder:
            return PlainTextResponse("400: Bad Request", status_code=400)
        path = (self.output_dir if type == "output" else self.input_dir) / subfolder / filename
        if not path.is_file():
            return PlainTextResponse("404: Not Found", status_code=404)
        return FileResponse(path, headers={"Content-Disposition": f'filename="{filename}"'})

    async def upload_image(self, request: Request):
        fields = _form(request.headers.get("content-type", ""), await request.body())
        if "image" not in fields or not fields["image"][0]:
            return PlainTextResponse("400: Bad Request", status_code=400)
        name, data = fields["image"]
        (self.input_dir / name).write_bytes(data)
        self.uploads.append(name)
        return {"name": name, "subfolder": "", "type": "input"}

    async def read_queue(self):
        return {"queue_running": [list(self.running)] if self.running else [],
                "queue_pending": [list(item) for item in self.pending]}

    async def edit_queue(self, request: Request):
        body = await request.json()
        doomed = set(body.get("delete", []))
        self.queue_deletes += body.get("delete", [])
        if body.get("clear"):
            doomed |= {item[1] for item in self.pending}
        for item in [item for item in self.pending if item[1] in doomed]:  # pending only: a running one stays
            self.pending.remove(item)
            self._tasks[item[1]].cancel()
        return PlainTextResponse("")

    async def interrupt(self, request: Request):
        try:
            body = await request.json() if await request.body() else {}
        except ValueError:
            body = {}
        self.interrupts.append(body)
        target = body.get("prompt_id") if self.targeted_interrupt and isinstance(body, dict) else None
        if self.running is not None and (target is None or target == self.running[1]):
            self.interrupted.append(self.running[1])
            self._tasks[self.running[1]].cancel()
        return PlainTextResponse("")

    async def system_stats(self):
        return {"system": {"os": "posix", "comfyui_version": "v0.3.75-double", "python_version": "3.11",
                           "pytorch_version": "2.9.0", "embedded_python": False, "argv": ["main.py"],
                           "ram_total": 2**36, "ram_free": 2**35},
                "devices": [{"name": "cuda:0 NVIDIA Double", "type": "cuda", "index": 0,
                             "vram_total": 2**34, "vram_free": 2**33}]}

    async def socket(self, websocket: WebSocket):
        if self.refuse_ws:
            await websocket.close(code=1008)
            return
        client_id = websocket.query_params.get("clientId") or uuid.uuid4().hex
        self._sockets.setdefault(client_id, []).append(websocket)  # before the client can POST /prompt
        await websocket.accept()
        self.ws_opened += 1
        await websocket.send_json({"type": "status", "data": {
            "status": {"exec_info": {"queue_remaining": self._outstanding}}, "sid": client_id}})
        try:
            while True:
                await websocket.receive_text()
        except WebSocketDisconnect:
            pass
        finally:
            with contextlib.suppress(ValueError, KeyError):
                self._sockets[client_id].remove(websocket)


class _NodeFailed(Exception):
    def __init__(self, payload: dict):
        super().__init__(payload["exception_message"])
        self.payload = payload


def _error(kind: str, message: str, details: str) -> dict:
    return {"error": {"type": kind, "message": message, "details": details, "extra_info": {}}, "node_errors": {}}


def _input_error(kind: str, message: str, details: str, name: str, value: Any = None) -> dict:
    return {"type": kind, "message": message, "details": details,
            "extra_info": {"input_name": name, "received_value": value}}


def _form(content_type: str, body: bytes) -> dict[str, tuple[str, bytes]]:
    """multipart/form-data fields → (filename, bytes), parsed with the standard library."""
    message = BytesParser(policy=HTTP).parsebytes(f"Content-Type: {content_type}\r\n\r\n".encode() + body)
    if not message.is_multipart():
        return {}
    return {part.get_param("name", header="content-disposition"): (part.get_filename() or "",
                                                                  part.get_payload(decode=True) or b"")
            for part in message.iter_parts()}


async def _ffmpeg(path: Path, *, width: int, height: int, frames: int, fps: int) -> None:
    proc = await asyncio.create_subprocess_exec(
        "ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi",
        "-i", f"testsrc2=s={width}x{height}:r={fps}", "-frames:v", str(frames),
        "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", str(path),
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
    _, stderr = await proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(stderr.decode(errors="replace"))
