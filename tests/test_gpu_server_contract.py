"""The three GPU servers (HunyuanVideo-1.5/api.py, CosyVoice/api.py, video_enhance) keep ONE contract.

Each server stays a single self-contained program, so the shared code is a copy kept identical on purpose; this
module checks that the copies and the documented contract match, then starts the three real servers (a tiny
random-weight Hunyuan pipeline, the espeak engine, the FFmpeg engine) and checks the same things on each over HTTP:
the error body on 404/405/422, the /health report, 429 + Retry-After when full, and (job servers) the job view.
"""

from __future__ import annotations

import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.server import REPO
from tests.subprocess_server import ScriptServer
from tests.test_hunyuan_server import Server as HunyuanServer
from tests.test_hunyuan_server import build_tiny_pipeline

SERVER_FILES = {"hunyuan-video-1.5": REPO / "HunyuanVideo-1.5" / "api.py", "cosyvoice": REPO / "CosyVoice" / "api.py",
                "video_enhance": REPO / "video_enhance" / "video_api" / "contract.py"}
DOCSTRING_FILES = [REPO / "HunyuanVideo-1.5" / "api.py", REPO / "CosyVoice" / "api.py",
                   REPO / "video_enhance" / "video_api" / "main.py"]
SHARED_BLOCK = re.compile(r"^# -+ shared contract \(begin\)\n.*?^# -+ shared contract \(end\)\n", re.M | re.S)
ERROR_KEYS = {"code", "message", "request_id"}
HEALTH_KEYS = {"status", "server", "version", "model", "device", "gpu", "queue", "error"}
JOB_KEYS = {"job_id", "status", "queue_position", "progress", "error", "created_at", "started_at", "finished_at",
            "result"}
GPU_KEYS = {"name", "total_mib", "free_mib", "allocated_mib", "reserved_mib", "peak_allocated_mib"}
SENTENCE = "小狗贝贝住在海边的小木屋里。每天清晨，它都会跑到沙滩上看日出。"


# ------------------------------------------------------------------------------------------ shape checks


def assert_error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """The shared error body: code, message, request_id (= the X-Request-Id header), optional details."""
    assert response.status_code == status, response.text
    body = response.json()
    assert ERROR_KEYS <= body.keys() <= ERROR_KEYS | {"details"}, body
    assert body["code"] == code and isinstance(body["message"], str) and body["message"]
    assert body["request_id"] == response.headers["x-request-id"]
    assert isinstance(body.get("details", {}), dict) and "Traceback" not in response.text
    return body


def assert_health(response: httpx.Response, *, server: str, status: str) -> dict[str, Any]:
    """The shared /health report: 200 when ok, 503 otherwise."""
    body = response.json()
    assert HEALTH_KEYS <= body.keys(), body
    assert (body["status"], body["server"]) == (status, server)
    assert response.status_code == (200 if status == "ok" else 503)
    assert isinstance(body["version"], str) and body["version"]
    model = body["model"]
    assert model is None or (isinstance(model["name"], str) and isinstance(model["loaded"], bool))
    assert body["device"] is None or isinstance(body["device"], str)
    assert body["gpu"] is None or GPU_KEYS <= body["gpu"].keys()
    assert body["queue"].keys() == {"running", "waiting", "capacity"}
    assert all(isinstance(v, int) and v >= 0 for v in body["queue"].values())
    if status == "ok":
        assert body["error"] is None and model["loaded"] is True
    else:
        assert body["error"].keys() == {"code", "message"}
    return body


def assert_job(view: dict[str, Any], status: str) -> dict[str, Any]:
    """The shared job view in one of its four states."""
    assert JOB_KEYS <= view.keys() and view["status"] == status, view
    assert isinstance(view["job_id"], str) and isinstance(view["created_at"], float)
    progress = view["progress"]
    assert progress is None or (progress.keys() == {"step", "total"} and 0 <= progress["step"] <= progress["total"])
    if status == "queued":
        assert view["queue_position"] >= 1 and progress is None
        assert view["started_at"] is view["finished_at"] is view["result"] is view["error"] is None
        return view
    assert view["queue_position"] is None and view["started_at"] >= view["created_at"]
    if status == "running":
        assert view["finished_at"] is view["result"] is view["error"] is None
        return view
    assert view["finished_at"] >= view["started_at"]
    if status == "succeeded":
        assert view["error"] is None and progress["step"] == progress["total"] > 0
        assert isinstance(view["result"]["url"], str)
    else:
        assert view["error"].keys() == {"code", "message"} and view["result"] is None
    return view


# ------------------------------------------------------------------------------------------ the three servers


@dataclass
class Target:
    """A running server and how to ask it for the contract's answers."""

    name: str  #: what /health calls it
    client: httpx.Client
    invalid: Callable[[httpx.Client], httpx.Response]  #: a request answered 422 invalid_request
    invalid_field: str  #: the field that request gets wrong


@dataclass
class JobTarget(Target):
    """A server that runs long work as jobs."""

    submit_fast: Callable[[httpx.Client], httpx.Response]  #: a short job
    submit_slow: Callable[[httpx.Client], httpx.Response]  #: a job that keeps the GPU busy for a few seconds
    result_path: str  #: where a job's output is downloaded, with {} for the job id


def make_clip(path: Path, *, size: str, seconds: float) -> bytes:
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", f"testsrc=size={size}:rate=24:duration="
                    f"{seconds}", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", str(path)],
                   check=True)
    return path.read_bytes()


@pytest.fixture(scope="module")
def hunyuan(tmp_path_factory: pytest.TempPathFactory) -> Iterator[JobTarget]:
    work = tmp_path_factory.mktemp("contract-hunyuan")
    server = HunyuanServer(build_tiny_pipeline(work / "HunyuanVideo-1.5-tiny-i2v"), work)  # HY_MAX_QUEUE=1
    try:
        assert server.wait_loaded()["status"] == "ok"
        yield JobTarget("hunyuan-video-1.5", server.client,
                        invalid=lambda c: c.post("/v1/jobs", json={"prompt": "a fox"}), invalid_field="image",
                        submit_fast=lambda c: server.submit(steps=2), submit_slow=lambda c: server.submit(steps=60),
                        result_path="/v1/jobs/{}/video")
    finally:
        server.stop()


@pytest.fixture(scope="module")
def cosyvoice(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    tmp = tmp_path_factory.mktemp("contract-cosyvoice")
    env = {"COSYVOICE_ENGINE": "espeak", "COSYVOICE_PORT": "{port}", "COSYVOICE_SPEAKERS_DIR": str(tmp / "none"),
           "COSYVOICE_MAX_QUEUE": "0"}  # one synthesis at a time and nobody waiting: the second gets 429
    server = ScriptServer([sys.executable, str(SERVER_FILES["cosyvoice"])], cwd=REPO, env=env,
                          log_path=tmp / "server.log").start()
    try:
        with server.client() as client:
            yield Target("cosyvoice", client, invalid=lambda c: c.post("/v1/tts", json={"text": "你好", "speed": 9}),
                         invalid_field="speed")
    finally:
        server.stop()


@pytest.fixture(scope="module")
def video_enhance(tmp_path_factory: pytest.TempPathFactory) -> Iterator[JobTarget]:
    tmp = tmp_path_factory.mktemp("contract-enhance")
    small = make_clip(tmp / "small.mp4", size="160x120", seconds=1)
    slow = make_clip(tmp / "slow.mp4", size="320x240", seconds=2)  # x4 motion interpolation: a few seconds
    env = {"ENHANCE_PORT": "{port}", "ENHANCE_WORK_DIR": str(tmp / "work"), "ENHANCE_MAX_QUEUE": "1",
           "ENHANCE_PRESET": "veryfast"}
    server = ScriptServer([sys.executable, "-m", "video_api.main"], cwd=REPO / "video_enhance", env=env,
                          log_path=tmp / "server.log").start()

    def post(client: httpx.Client, clip: bytes, scale: int, multi: int) -> httpx.Response:
        return client.post("/v1/jobs", params={"scale": scale, "multi": multi}, content=clip,
                           headers={"content-type": "video/mp4"})

    try:
        with server.client() as client:
            yield JobTarget("video_enhance", client,
                            invalid=lambda c: c.post("/v1/jobs", json={"url": "http://127.0.0.1/in.mp4", "scale": 3}),
                            invalid_field="scale", submit_fast=lambda c: post(c, small, 1, 1),
                            submit_slow=lambda c: post(c, slow, 1, 4), result_path="/v1/jobs/{}/result")
    finally:
        server.stop()


ALL = ["hunyuan", "cosyvoice", "video_enhance"]
JOB_SERVERS = ["hunyuan", "video_enhance"]


@pytest.fixture
def target(request: pytest.FixtureRequest) -> Target:
    return request.getfixturevalue(request.param)


def wait_job(client: httpx.Client, job_id: str, until: tuple[str, ...], timeout_s: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while (view := client.get(f"/v1/jobs/{job_id}").json())["status"] not in until:
        assert time.monotonic() < deadline, view
        time.sleep(0.02)
    return view


# ------------------------------------------------------------------------------------------ the copies agree


def test_the_shared_code_is_the_same_copy_in_each_server() -> None:
    blocks = {name: SHARED_BLOCK.findall(path.read_text()) for name, path in SERVER_FILES.items()}
    assert all(len(found) == 1 for found in blocks.values()), {k: len(v) for k, v in blocks.items()}
    assert len({found[0] for found in blocks.values()}) == 1


def test_the_contract_is_documented_identically_at_the_top_of_each_server_and_for_operators() -> None:
    operators = (REPO / "docs" / "operators.md").read_text()
    contract = operators.split("<!-- shared contract -->\n```text\n", 1)[1].split("```", 1)[0]
    assert contract.startswith("Shared contract of the three GPU servers")
    for path in DOCSTRING_FILES:
        docstring = path.read_text().split('"""', 2)[1]
        assert contract in docstring, path
        assert docstring.index(contract) < 500, f"{path}: the contract is not at the top"


# ------------------------------------------------------------------------------------------ errors and /health


@pytest.mark.parametrize("target", ALL, indirect=True)
def test_routing_and_validation_errors_have_the_shared_body(target: Target) -> None:
    client = target.client
    assert_error(client.get("/no/such/route"), 404, "not_found")
    wrong_method = client.delete("/health")
    assert_error(wrong_method, 405, "method_not_allowed")
    assert "GET" in wrong_method.headers["allow"]
    invalid = assert_error(target.invalid(client), 422, "invalid_request")
    first = invalid["details"]["errors"][0]
    assert first.keys() == {"field", "problem"} and first["field"] == target.invalid_field
    assert invalid["message"] == f"{target.invalid_field}: {first['problem']}"
    tagged = client.get("/no/such/route", headers={"X-Request-Id": "contract-1"})
    assert tagged.json()["request_id"] == tagged.headers["x-request-id"] == "contract-1"
    mangled = client.get("/no/such/route", headers={"X-Request-Id": "no spaces\tallowed"})
    assert re.fullmatch(r"[0-9a-f]{32}", mangled.json()["request_id"])


@pytest.mark.parametrize("target", ALL, indirect=True)
def test_health_has_the_shared_shape(target: Target) -> None:
    health = assert_health(target.client.get("/health"), server=target.name, status="ok")
    assert health["device"] == "cpu" and health["gpu"] is None  # no GPU here


@pytest.mark.parametrize("target", JOB_SERVERS, indirect=True)
def test_unknown_job_has_the_shared_404(target: JobTarget) -> None:
    assert_error(target.client.get("/v1/jobs/0123456789abcdef"), 404, "job_not_found")


def test_a_server_without_its_model_says_so_in_the_shared_shapes(tmp_path: Path) -> None:
    """Only the Hunyuan server answers before its model is loaded; CosyVoice and video_enhance load first."""
    empty = tmp_path / "no-model-here"
    empty.mkdir()
    server = HunyuanServer(empty, tmp_path)
    try:
        server.wait_loaded(timeout_s=30)
        health = assert_health(server.client.get("/health"), server="hunyuan-video-1.5", status="error")
        assert health["error"]["code"] == "model_dir_invalid" and health["model"]["loaded"] is False
        assert_error(server.submit(), 503, "model_unavailable")
    finally:
        server.stop()


# ------------------------------------------------------------------------------------------ jobs and the queue


@pytest.mark.parametrize("target", JOB_SERVERS, indirect=True)
def test_a_job_goes_queued_to_succeeded_in_the_shared_view(target: JobTarget) -> None:
    created = target.submit_fast(target.client)
    assert created.status_code == 202, created.text
    assert_job(created.json(), "queued")
    done = assert_job(wait_job(target.client, created.json()["job_id"], ("succeeded", "failed")), "succeeded")
    assert done["result"]["url"] == target.result_path.format(done["job_id"])
    assert target.client.get(done["result"]["url"]).status_code == 200


@pytest.mark.parametrize("target", JOB_SERVERS, indirect=True)
def test_a_full_job_queue_answers_429_with_retry_after(target: JobTarget) -> None:
    """Capacity 1: one job runs, one waits (queue_position 1, no result yet), the next is refused."""
    client = target.client
    running = assert_job(wait_job(client, target.submit_slow(client).json()["job_id"], ("running",)), "running")
    waiting = target.submit_fast(client)
    assert waiting.status_code == 202, waiting.text
    full = target.submit_fast(client)
    health = client.get("/health")
    queued = client.get(f"/v1/jobs/{waiting.json()['job_id']}").json()
    early = client.get(target.result_path.format(queued["job_id"]))
    still_running = client.get(f"/v1/jobs/{running['job_id']}").json()

    body = assert_error(full, 429, "queue_full")
    assert int(full.headers["retry-after"]) == body["details"]["retry_after_s"] > 0
    assert assert_health(health, server=target.name, status="ok")["queue"] == {"running": 1, "waiting": 1,
                                                                               "capacity": 1}
    assert assert_job(waiting.json(), "queued")["queue_position"] == 1
    assert assert_job(queued, "queued")["queue_position"] == 1
    assert_error(early, 409, "job_not_finished")
    assert_job(still_running, "running")
    for job_id in (running["job_id"], queued["job_id"]):  # leave the server idle for the other tests
        assert_job(wait_job(client, job_id, ("succeeded", "failed")), "succeeded")


def test_cosyvoice_answers_429_with_retry_after_while_busy(cosyvoice: Target) -> None:
    """CosyVoice is synchronous (no jobs) but bounds concurrency the same way."""
    client, answers = cosyvoice.client, []
    speaking = threading.Thread(target=lambda: answers.append(client.post("/v1/tts", json={"text": SENTENCE * 60})))
    speaking.start()
    deadline = time.monotonic() + 30
    while (health := client.get("/health").json())["queue"]["running"] == 0:
        assert time.monotonic() < deadline and speaking.is_alive(), "the synthesis never showed as running"
        time.sleep(0.005)
    full = client.post("/v1/tts", json={"text": "你好。"})
    speaking.join(60)
    body = assert_error(full, 429, "queue_full")
    assert int(full.headers["retry-after"]) == body["details"]["retry_after_s"] > 0
    assert health["queue"] == {"running": 1, "waiting": 0, "capacity": 0}
    assert answers[0].status_code == 200 and answers[0].headers["content-type"] == "audio/wav"
