"""video_enhance: the real service over HTTP with the FFmpeg engine, URL/path refusal, limits, the one-job queue,
engine selection and fallback, the GPU engines' "not configured" errors, and sr_if.sh start/stop."""

from __future__ import annotations

import asyncio
import http.server
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import httpx
import numpy as np
import pytest
import uvicorn

from tests.media import probe, stream, stream_duration
from tests.server import REPO, free_port
from tests.subprocess_server import ScriptServer

ENHANCE = REPO / "video_enhance"
sys.path.insert(0, str(ENHANCE))  # video_api is run from video_enhance/, not installed

from video_api import engines as engines_mod  # noqa: E402
from video_api.engines.ffmpeg import FFmpegInterpolator, FFmpegUpscaler  # noqa: E402
from video_api.engines.flashvsr import FlashVsrUpscaler, fit_frames, lq_frame_count, padded_size  # noqa: E402
from video_api.engines.rife import RifeInterpolator, interpolate_sequence  # noqa: E402
from video_api.errors import EngineNotConfigured  # noqa: E402
from video_api.jobs import JobQueue, QueueFull, new_job  # noqa: E402
from video_api.main import create_app  # noqa: E402
from video_api.media import FrameWriter, read_rgb_frames  # noqa: E402
from video_api.media import probe as probe_info  # noqa: E402
from video_api.pipeline import EnhanceSpec, enhance  # noqa: E402
from video_api.settings import Settings  # noqa: E402

MAX_UPLOAD = 1024 * 1024


def make_clip(path: Path, *, size: str = "160x120", fps: int = 24, seconds: float = 2.0) -> Path:
    """An H.264 + AAC clip: testsrc picture, a 440 Hz tone."""
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", f"testsrc=size={size}:rate={fps}:"
                    f"duration={seconds}", "-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}",
                    "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", str(path)], check=True)
    return path


def video_facts(path: Path) -> dict:
    info = probe(path)
    video = stream(info, "video")
    return {"codec": video["codec_name"], "size": (video["width"], video["height"]),
            "fps": Fraction(video["r_frame_rate"]), "frames": int(video["nb_frames"]),
            "has_audio": any(s["codec_type"] == "audio" for s in info["streams"])}


def assert_audio_in_sync(path: Path) -> None:
    assert abs(stream_duration(path, "audio") - stream_duration(path, "video")) < 0.05


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_clip(tmp_path_factory.mktemp("clips") / "in.mp4")


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ScriptServer]:
    tmp = tmp_path_factory.mktemp("video-enhance")
    env = {"ENHANCE_PORT": "{port}", "ENHANCE_WORK_DIR": str(tmp / "work"), "ENHANCE_ALLOWED_HOSTS": "127.0.0.1",
           "ENHANCE_MAX_UPLOAD_BYTES": str(MAX_UPLOAD), "ENHANCE_MAX_INPUT_SECONDS": "30",
           "ENHANCE_PRESET": "veryfast"}
    server = ScriptServer([sys.executable, "-m", "video_api.main"], cwd=ENHANCE, env=env,
                          log_path=tmp / "server.log").start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def file_host(clip: Path) -> Iterator[str]:
    """A plain HTTP server on 127.0.0.1 serving the clip's folder: the allow-listed URL source."""
    handler = lambda *a: http.server.SimpleHTTPRequestHandler(*a, directory=str(clip.parent))  # noqa: E731
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


# ------------------------------------------------------------------------------------------ over HTTP, FFmpeg engine


def test_enhance_upload_doubles_fps_frames_and_size_and_keeps_audio(service, clip: Path, tmp_path: Path) -> None:
    source = video_facts(clip)
    with service.client(120) as client:
        response = client.post("/v1/enhance", params={"scale": 2, "multi": 2}, content=clip.read_bytes(),
                               headers={"content-type": "video/mp4"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "video/mp4"
    assert response.headers["x-engines"] == "sr=ffmpeg;interp=ffmpeg" and response.headers["x-degraded"] == "false"
    out = tmp_path / "out.mp4"
    out.write_bytes(response.content)
    facts = video_facts(out)
    assert source["fps"] == 24 and facts["fps"] == 48
    assert abs(facts["frames"] - 2 * source["frames"]) <= 1
    assert facts["size"] == (320, 240) and facts["codec"] == "h264"
    assert facts["has_audio"]
    assert_audio_in_sync(out)


def test_enhance_job_api_fetches_an_allow_listed_url(service, file_host: str, tmp_path: Path) -> None:
    with service.client(120) as client:
        created = client.post("/v1/jobs", json={"url": f"{file_host}/in.mp4", "scale": 1, "multi": 2,
                                                "user_id": "u-1", "story_id": "s-1", "shot_id": "shot_01"})
        assert created.status_code == 202, created.text
        job_id = created.json()["job_id"]
        deadline = time.monotonic() + 120
        while (job := client.get(f"/v1/jobs/{job_id}").json())["status"] not in ("succeeded", "failed"):
            assert time.monotonic() < deadline, job
            time.sleep(0.2)
        assert job["status"] == "succeeded", job
        assert job["result"]["engines"] == {"sr": "none", "interp": "ffmpeg"}
        result = client.get(job["result"]["url"])
    out = tmp_path / "fetched.mp4"
    out.write_bytes(result.content)
    facts = video_facts(out)
    assert facts["size"] == (160, 120) and facts["fps"] == 48 and facts["has_audio"]
    assert_audio_in_sync(out)


@pytest.mark.parametrize(("body", "status", "code"), [
    ({"url": "http://localhost:8/in.mp4"}, 403, "url_not_allowed"),  # loopback, but not by the allowed name
    ({"url": "http://169.254.169.254/latest/meta-data/"}, 403, "url_not_allowed"),
    ({"url": "https://example.com/in.mp4"}, 403, "url_not_allowed"),
    ({"url": "file:///etc/passwd"}, 403, "url_not_allowed"),
    ({"url": "/etc/passwd"}, 403, "url_not_allowed"),
    ({"url": "ftp://127.0.0.1/in.mp4"}, 403, "url_not_allowed"),
    ({"url": "http://user:secret@127.0.0.1/in.mp4"}, 403, "url_not_allowed"),
    ({"path": "/etc/passwd"}, 422, "local_path_not_allowed"),
    ({"path": "/etc/passwd", "url": "http://127.0.0.1/x.mp4"}, 422, "local_path_not_allowed"),
])
def test_enhance_refuses_urls_outside_the_allow_list_and_local_paths(service, body: dict, status: int,
                                                                       code: str) -> None:
    with service.client() as client:
        response = client.post("/v1/enhance", json={**body, "scale": 2, "multi": 2})
    assert response.status_code == status, response.text
    assert response.json()["code"] == code and "request_id" in response.json()


@pytest.mark.parametrize("params", [{"scale": 3}, {"multi": 8}, {"scale": 0}, {"scale": "two"}, {"multi": -2}])
def test_enhance_validates_scale_and_multi(service, clip: Path, params: dict) -> None:
    with service.client() as client:
        upload = client.post("/v1/enhance", params=params, content=clip.read_bytes(),
                             headers={"content-type": "video/mp4"})
        as_json = client.post("/v1/enhance", json={"url": "http://127.0.0.1/in.mp4", "scale": 2, "multi": 2,
                                                   **params})
    for response in (upload, as_json):
        assert response.status_code == 422, response.text
        assert response.json()["code"] == "invalid_request"
        assert response.json()["details"]["errors"][0]["field"] in params


@pytest.mark.parametrize(("scale", "multi", "size", "fps"), [(4, 1, (640, 480), 24), (1, 4, (160, 120), 96)])
def test_enhance_x4_steps(service, clip: Path, tmp_path: Path, scale: int, multi: int, size: tuple, fps: int) -> None:
    with service.client(180) as client:
        response = client.post("/v1/enhance", params={"scale": scale, "multi": multi}, content=clip.read_bytes(),
                               headers={"content-type": "video/mp4"})
    assert response.status_code == 200, response.text
    out = tmp_path / "out.mp4"
    out.write_bytes(response.content)
    facts = video_facts(out)
    assert facts["size"] == size and facts["fps"] == fps and abs(facts["frames"] - 2 * fps) <= 1
    assert_audio_in_sync(out)


def test_enhance_bounds_upload_size(service) -> None:
    with service.client() as client:
        declared = client.post("/v1/enhance", content=b"\0" * (MAX_UPLOAD + 1), headers={"content-type": "video/mp4"})
        streamed = client.post("/v1/enhance", content=iter([b"\0" * 65536] * 20),
                               headers={"content-type": "video/mp4"})  # chunked: no Content-Length to trust
    for response in (declared, streamed):
        assert response.status_code == 413 and response.json()["code"] == "payload_too_large"


@pytest.mark.parametrize(("content", "ctype", "status", "code"), [
    (b"not a video at all", "video/mp4", 422, "invalid_video"),
    (b"", "video/mp4", 422, "empty_upload"),
    (b"scale=2", "text/plain", 415, "unsupported_media_type"),
])
def test_enhance_refuses_what_is_not_a_video(service, content: bytes, ctype: str, status: int, code: str) -> None:
    with service.client() as client:
        response = client.post("/v1/enhance", content=content, headers={"content-type": ctype})
    assert response.status_code == status and response.json()["code"] == code


def test_health_and_unknown_job(service) -> None:
    with service.client() as client:
        health = client.get("/health").json()
        missing = client.get("/v1/jobs/nope")
    assert health["model"]["engines"] == {"sr": "ffmpeg", "interp": "ffmpeg"} and health["url_input"] is True
    assert health["queue"]["capacity"] == 4 and health["device"] == "cpu"
    assert missing.status_code == 404 and missing.json()["code"] == "job_not_found"


# ------------------------------------------------------------------------------------------ one job at a time


@pytest.fixture
def inprocess_service(tmp_path: Path) -> Iterator[tuple[str, object]]:
    """The app served by uvicorn in a thread (real sockets), so a test can swap the queue's runner."""
    settings = Settings(port=free_port(), work_dir=tmp_path / "work", max_queue=1)
    app = create_app(settings)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=settings.port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    yield f"http://127.0.0.1:{settings.port}", app
    server.should_exit = True
    thread.join(10)


def test_queue_runs_one_job_at_a_time_and_answers_429_when_full(inprocess_service, clip: Path) -> None:
    base_url, app = inprocess_service
    release, running, overlap = threading.Event(), [], []

    def slow_runner(job):
        running.append(job.id)
        overlap.append(len(running))
        release.wait(30)
        running.remove(job.id)
        raise RuntimeError("stopped by the test")

    app.state.queue.runner = slow_runner
    post = {"params": {"scale": 1, "multi": 2}, "content": clip.read_bytes(), "headers": {"content-type": "video/mp4"}}
    with httpx.Client(base_url=base_url, timeout=30) as client:
        first = client.post("/v1/jobs", **post)
        deadline = time.monotonic() + 10
        while not running and time.monotonic() < deadline:
            time.sleep(0.05)
        second = client.post("/v1/jobs", **post)  # waits behind the first
        third = client.post("/v1/jobs", **post)  # nobody else may wait: 429
        release.set()
        for job in (first, second):
            while client.get(f"/v1/jobs/{job.json()['job_id']}").json()["status"] != "failed":
                time.sleep(0.05)
        failed = client.get(f"/v1/jobs/{first.json()['job_id']}").json()
    assert (first.status_code, second.status_code) == (202, 202)
    assert third.status_code == 429 and third.json()["code"] == "queue_full"
    assert max(overlap) == 1  # never two jobs at once
    assert failed["error"] == {"code": "internal_error", "message": "the job failed; see the service log"}


async def test_job_queue_refuses_submissions_beyond_max_waiting(tmp_path: Path) -> None:
    gate = threading.Event()
    queue = JobQueue(lambda job: gate.wait(10), max_waiting=1, keep=10, ttl_s=60, timeout_s=30)
    queue.start()
    jobs = [new_job(EnhanceSpec(1, 2), tmp_path) for _ in range(3)]
    queue.submit(jobs[0])
    while queue.running is None:
        await asyncio.sleep(0.01)
    queue.submit(jobs[1])
    with pytest.raises(QueueFull):
        queue.submit(jobs[2])
    gate.set()
    await asyncio.wait_for(jobs[1].done.wait(), 10)
    await queue.stop()


# ------------------------------------------------------------------------------------------ engines


def test_default_settings_choose_ffmpeg_for_both_steps() -> None:
    chosen = engines_mod.select_engines(Settings())
    assert chosen.describe() == {"sr": "ffmpeg", "interp": "ffmpeg"}


def test_auto_falls_back_to_ffmpeg_when_a_gpu_engine_is_not_configured(tmp_path: Path) -> None:
    (tmp_path / "Practical-RIFE" / "train_log").mkdir(parents=True)  # checkout without weights
    settings = Settings(rife_dir=tmp_path / "Practical-RIFE", flashvsr_dir=tmp_path / "missing")
    assert engines_mod.select_engines(settings).describe() == {"sr": "ffmpeg", "interp": "ffmpeg"}


@pytest.mark.parametrize(("settings", "expected"), [
    ({"interp_engine": "rife"}, "ENHANCE_RIFE_DIR"),
    ({"interp_engine": "rife", "rife_dir": "{tmp}/nowhere"}, "does not exist"),
    ({"interp_engine": "rife", "rife_dir": "{tmp}/rife"}, "flownet.pkl"),
    ({"sr_engine": "flashvsr"}, "ENHANCE_FLASHVSR_DIR"),
    ({"sr_engine": "flashvsr", "flashvsr_dir": "{tmp}/flashvsr"}, "git lfs clone https://huggingface.co/JunhaoZhuang"),
])
def test_naming_an_unconfigured_gpu_engine_is_a_clear_error(tmp_path: Path, settings: dict, expected: str) -> None:
    (tmp_path / "rife" / "train_log").mkdir(parents=True)
    (tmp_path / "flashvsr" / "examples" / "WanVSR" / "utils").mkdir(parents=True)
    values = {k: v.replace("{tmp}", str(tmp_path)) for k, v in settings.items()}
    with pytest.raises(EngineNotConfigured) as caught:
        engines_mod.select_engines(Settings(**values))
    assert "not configured" in caught.value.message and expected in caught.value.message


def test_flashvsr_with_weights_but_without_its_packages_names_them(tmp_path: Path) -> None:
    weights = tmp_path / "examples" / "WanVSR" / "FlashVSR"
    weights.mkdir(parents=True)
    (weights.parent / "utils").mkdir()
    engine = FlashVsrUpscaler(Settings(flashvsr_dir=tmp_path))
    for name in engine.weight_files():
        (weights / name).write_bytes(b"")
    with pytest.raises(EngineNotConfigured, match="diffsynth.*block_sparse_attn"):
        engine.check()


def test_service_refuses_to_start_with_an_unconfigured_engine(tmp_path: Path) -> None:
    env = {**os.environ, "ENHANCE_INTERP_ENGINE": "rife", "ENHANCE_PORT": str(free_port()),
           "ENHANCE_WORK_DIR": str(tmp_path)}
    done = subprocess.run([sys.executable, "-m", "video_api.main"], cwd=ENHANCE, env=env, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode != 0
    assert "cannot start: RIFE is not configured: set ENHANCE_RIFE_DIR" in done.stderr


class BrokenGpuEngine:
    """A GPU engine whose model fails, to show the FFmpeg fallback."""

    name, step, gpu = "broken", "interp", True

    def check(self) -> None: ...

    def load(self) -> None:
        raise RuntimeError("CUDA out of memory")

    def run(self, src, dst, *, factor, info) -> None:
        raise RuntimeError("CUDA out of memory")


class RepeatInterpolator:
    """A file engine (like RIFE) that repeats each frame: video in, video out, no audio."""

    name, step, gpu = "repeat", "interp", True

    def check(self) -> None: ...

    def load(self) -> None: ...

    def run(self, src, dst, *, factor, info) -> None:
        with FrameWriter(dst, width=info.width, height=info.height, fps=info.fps * factor) as writer:
            for frame in read_rgb_frames(src, info):
                for _ in range(factor):
                    writer.write(frame)


def engine_set(interp) -> engines_mod.EngineSet:
    return engines_mod.EngineSet(FFmpegUpscaler(), interp, FFmpegUpscaler(), FFmpegInterpolator("blend"))


def test_a_file_engine_gets_the_original_audio_muxed_back(clip: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.mp4"
    result = enhance(clip, out, EnhanceSpec(2, 2), engines=engine_set(RepeatInterpolator()),
                     settings=Settings(preset="veryfast"), work=tmp_path)
    facts = video_facts(out)
    assert result.engines == {"sr": "ffmpeg", "interp": "repeat"} and not result.degraded
    assert facts["fps"] == 48 and facts["frames"] == 96 and facts["size"] == (320, 240) and facts["has_audio"]
    assert_audio_in_sync(out)


def test_a_failing_gpu_engine_falls_back_to_ffmpeg_for_that_job(clip: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.mp4"
    result = enhance(clip, out, EnhanceSpec(1, 2), engines=engine_set(BrokenGpuEngine()),
                     settings=Settings(preset="veryfast"), work=tmp_path)
    assert result.degraded and result.engines["interp"] == "ffmpeg"
    assert video_facts(out)["fps"] == 48
    assert_audio_in_sync(out)


def test_a_gpu_engine_that_fails_to_load_under_auto_is_replaced_by_ffmpeg() -> None:
    loaded = engines_mod.load_engines(engine_set(BrokenGpuEngine()), auto={"sr": True, "interp": True})
    assert loaded.describe() == {"sr": "ffmpeg", "interp": "ffmpeg"}
    with pytest.raises(RuntimeError, match="out of memory"):
        engines_mod.load_engines(engine_set(BrokenGpuEngine()), auto={"sr": True, "interp": False})


def test_rife_sequence_inserts_in_betweens_and_keeps_the_duration() -> None:
    def middles(a, b, n):
        return [a + (b - a) * (i + 1) / (n + 1) for i in range(n)]

    assert list(interpolate_sequence([0, 10, 20], 2, middles)) == [0, 5, 10, 15, 20, 20]
    assert list(interpolate_sequence([0, 8], 4, middles)) == [0, 2, 4, 6, 8, 8, 8, 8]
    assert len(list(interpolate_sequence(range(48), 2, middles))) == 96


RIFE_STANDIN = """
import torch


class Model:  # Practical-RIFE's train_log/RIFE_HDv3.py interface: a linear blend instead of IFNet
    def __init__(self):
        self.version, self.loaded, self.calls = 4.25, None, []

    def load_model(self, path, rank=0):
        self.loaded = (path, rank, open(path + "/flownet.pkl").read())

    def eval(self):
        pass

    def device(self):
        pass

    def inference(self, img0, img1, timestep=0.5, scale=1.0):
        assert img0.shape[-2] % 128 == 0 and img0.shape[-1] % 128 == 0 and img0.dtype == torch.float32
        self.calls.append((timestep, scale))
        return img0 * (1 - timestep) + img1 * timestep
"""


@pytest.fixture
def rife_checkout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A Practical-RIFE checkout whose train_log/ holds a torch stand-in with RIFE's Model interface."""
    train_log = tmp_path / "Practical-RIFE" / "train_log"
    train_log.mkdir(parents=True)
    (train_log / "RIFE_HDv3.py").write_text(RIFE_STANDIN)
    (train_log / "IFNet_HDv3.py").write_text("")
    (train_log / "flownet.pkl").write_text("weights")
    monkeypatch.setattr(sys, "path", sys.path.copy())
    yield train_log.parent
    for name in [m for m in sys.modules if m == "train_log" or m.startswith("train_log.")]:
        del sys.modules[name]


def test_rife_adapter_runs_a_model_with_rifes_interface(rife_checkout: Path, clip: Path, tmp_path: Path) -> None:
    settings = Settings(interp_engine="rife", rife_dir=rife_checkout, preset="veryfast")
    chosen = engines_mod.load_engines(engines_mod.select_engines(settings), auto={"sr": True, "interp": False})
    model = chosen.interp.model
    assert model.loaded == (str(rife_checkout / "train_log"), -1, "weights")
    out = tmp_path / "out.mp4"
    result = enhance(clip, out, EnhanceSpec(2, 2), engines=chosen, settings=settings, work=tmp_path)
    assert result.engines == {"sr": "ffmpeg", "interp": "rife"} and not result.degraded
    assert set(model.calls) == {(0.5, 1.0)} and len(model.calls) == 47  # one in-between per pair
    facts = video_facts(out)
    assert facts["fps"] == 48 and facts["frames"] == 96 and facts["size"] == (320, 240) and facts["has_audio"]
    assert_audio_in_sync(out)
    # the in-between written by the adapter is the model's blend of its neighbours, cropped back to 160x120
    info = probe_info(tmp_path / "interp-rife.mkv")
    frames = [np.frombuffer(f, np.uint8).reshape(120, 160, 3).astype(float)
              for f in read_rgb_frames(tmp_path / "interp-rife.mkv", info)]
    assert len(frames) == 96 and np.abs(frames[1] - (frames[0] + frames[2]) / 2).mean() < 4


def test_rife_without_weights_is_not_configured(tmp_path: Path) -> None:
    (tmp_path / "train_log").mkdir()
    (tmp_path / "train_log" / "RIFE_HDv3.py").write_text("")
    with pytest.raises(EngineNotConfigured, match=r"IFNet_HDv3.py, flownet.pkl missing"):
        RifeInterpolator(Settings(rife_dir=tmp_path)).check()


def test_flashvsr_frame_and_size_rules() -> None:
    assert [lq_frame_count(n) for n in (1, 4, 5, 48, 121)] == [1, 1, 9, 49, 121]
    assert padded_size(160, 120, 2) == (320, 240, 384, 256)
    assert fit_frames([1, 2, 3], 5) == [1, 2, 3, 3, 3] and fit_frames([1, 2, 3], 2) == [1, 2]


# ------------------------------------------------------------------------------------------ sr_if.sh


def process_gone(pid: int) -> bool:
    """Exited: no such process, or a zombie waiting for whoever adopted it to reap it."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


def test_sr_if_starts_in_the_background_waits_for_health_and_stops(tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "PYTHON": sys.executable, "ENHANCE_STATE_DIR": str(tmp_path / "state"),
           "ENHANCE_WORK_DIR": str(tmp_path / "work")}
    script = [str(ENHANCE / "sr_if.sh")]

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(script + list(args), env=env, capture_output=True, text=True, timeout=120)

    started = run("start", "--port", str(port))
    assert started.returncode == 0, started.stdout + started.stderr
    pid_file = tmp_path / "state" / "run" / f"video_api-{port}.pid"
    pid = int(pid_file.read_text())
    assert httpx.get(f"http://127.0.0.1:{port}/health").status_code == 200
    assert "already running" in run("start", "--port", str(port)).stdout  # idempotent
    assert run("status").returncode == 0
    stopped = run("stop")
    assert stopped.returncode == 0 and not pid_file.exists()
    assert process_gone(pid)
    assert "Application shutdown complete" in (tmp_path / "state" / "logs" / f"video_api-{port}.log").read_text()
