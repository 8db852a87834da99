"""HunyuanVideo-1.5 server end to end on CPU: a tiny random-weight I2V pipeline, the real server, real HTTP.

The pipeline is built here from tiny configs (after diffusers' own ``get_dummy_components`` for
HunyuanVideo-1.5, plus the I2V image encoder) with tokenizers made locally — nothing comes from the
Hub. The server runs as a subprocess (``python HunyuanVideo-1.5/api.py``) because the folder name
has a dot; pure helpers are imported by path.
"""

from __future__ import annotations

import base64
import io
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import diffusers
import httpx
import pytest
import torch
import transformers
from PIL import Image

from tests.by_path import import_by_path

ROOT = Path(__file__).resolve().parents[1]
API_PATH = ROOT / "HunyuanVideo-1.5" / "api.py"
IMAGE_SIZE = (40, 24)  # (width, height) of the input image; the tiny model's bucket for it is 40x24
SLOW_STEPS = 20  # denoising steps of the job that keeps the GPU busy in the queue tests


# --------------------------------------------------------------------------------------------------
# A tiny random-weight HunyuanVideo-1.5 I2V pipeline, built offline
# --------------------------------------------------------------------------------------------------


def bytes_to_unicode() -> dict[int, str]:
    """GPT-2/Qwen byte-level alphabet: every byte gets a printable character."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), 256))
    cs = bs[:]
    extra = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + extra)
            extra += 1
    return dict(zip(bs, map(chr, cs), strict=True))


def tiny_qwen_tokenizer():
    """A byte-level BPE ``Qwen2Tokenizer`` with no merges (one token per byte) and a ChatML template."""
    vocab = {ch: i for i, ch in enumerate(bytes_to_unicode().values())}
    specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    for token in specials:
        vocab[token] = len(vocab)
    tokenizer = transformers.Qwen2Tokenizer(vocab=vocab, merges=[], additional_special_tokens=specials[1:])
    tokenizer.chat_template = (
        "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
        "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
    )
    return tokenizer


def tiny_text_encoders():
    """Qwen2.5-VL text model + Qwen tokenizer, and ByT5 (T5 encoder + byte tokenizer), all tiny."""
    qwen = transformers.Qwen2_5_VLTextModel(transformers.Qwen2_5_VLTextConfig(
        hidden_size=16, intermediate_size=16, num_hidden_layers=2, num_attention_heads=2, num_key_value_heads=2,
        vocab_size=300, bos_token_id=None, eos_token_id=None, rope_theta=1e6,
        rope_scaling={"mrope_section": [1, 1, 2], "rope_type": "default", "type": "default"}))
    byt5 = transformers.T5EncoderModel(transformers.T5Config(
        vocab_size=384, d_model=32, d_kv=8, d_ff=32, num_layers=1, num_heads=2, relative_attention_num_buckets=8))
    return qwen, tiny_qwen_tokenizer(), byt5, transformers.ByT5Tokenizer()


def build_tiny_pipeline(path: Path) -> Path:
    """Save a complete tiny ``HunyuanVideo15ImageToVideoPipeline`` (all ten components) to ``path``."""
    torch.manual_seed(0)
    transformer = diffusers.HunyuanVideo15Transformer3DModel(
        in_channels=9, out_channels=4, num_attention_heads=2, attention_head_dim=8, num_layers=1,
        num_refiner_layers=1, mlp_ratio=2.0, patch_size=1, patch_size_t=1, text_embed_dim=16, text_embed_2_dim=32,
        image_embed_dim=12, rope_axes_dim=(2, 2, 4), target_size=32, task_type="i2v")
    vae = diffusers.AutoencoderKLHunyuanVideo15(
        in_channels=3, out_channels=3, latent_channels=4, block_out_channels=(16, 16), layers_per_block=1,
        spatial_compression_ratio=4, temporal_compression_ratio=2, downsample_match_channel=False,
        upsample_match_channel=False)
    text_encoder, tokenizer, text_encoder_2, tokenizer_2 = tiny_text_encoders()
    image_encoder = transformers.SiglipVisionModel(transformers.SiglipVisionConfig(
        hidden_size=12, intermediate_size=16, num_hidden_layers=1, num_attention_heads=2, image_size=16,
        patch_size=8))
    pipe = diffusers.HunyuanVideo15ImageToVideoPipeline(
        transformer=transformer, vae=vae, scheduler=diffusers.FlowMatchEulerDiscreteScheduler(shift=7.0),
        text_encoder=text_encoder, tokenizer=tokenizer, text_encoder_2=text_encoder_2, tokenizer_2=tokenizer_2,
        guider=diffusers.ClassifierFreeGuidance(guidance_scale=1.0), image_encoder=image_encoder,
        feature_extractor=transformers.SiglipImageProcessor(size={"height": 16, "width": 16}))
    pipe.save_pretrained(path)
    return path


# --------------------------------------------------------------------------------------------------
# The server
# --------------------------------------------------------------------------------------------------


def free_port() -> int:
    """An unused TCP port on the loopback interface."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def image_b64(size: tuple[int, int] = IMAGE_SIZE, fmt: str = "PNG") -> str:
    """A small gradient picture, base64-encoded."""
    width, height = size
    img = Image.new("RGB", size)
    img.putdata([(x * 255 // width, y * 255 // height, 128) for y in range(height) for x in range(width)])
    buf = io.BytesIO()
    img.save(buf, format=fmt)
    return base64.b64encode(buf.getvalue()).decode()


class Server:
    """A running ``HunyuanVideo-1.5/api.py`` subprocess and an HTTP client for it."""

    def __init__(self, model_dir: Path, work: Path, **extra_env: str):
        self.port = free_port()
        self.log_path = work / "server.log"
        env = {**os.environ, "HY_MODEL_DIR": str(model_dir), "HY_PORT": str(self.port), "HY_DEVICE": "cpu",
               "HY_WORK_DIR": str(work / "jobs"), "HY_MAX_QUEUE": "1", "HY_MAX_PROMPT_CHARS": "200",
               "HY_MAX_FRAMES": "33", "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false", **extra_env}
        self.log = self.log_path.open("wb")
        self.proc = subprocess.Popen([sys.executable, str(API_PATH)], env=env, stdout=self.log,
                                     stderr=subprocess.STDOUT, cwd=ROOT)
        self.client = httpx.Client(base_url=f"http://127.0.0.1:{self.port}", timeout=30)

    def wait_loaded(self, timeout_s: float = 90) -> dict:
        """Poll /health until the model is loaded (200 "ok") or failed to load (503 "error")."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, f"server exited:\n{self.log_tail()}"
            try:
                resp = self.client.get("/health")
                health = resp.json()
                expected = 200 if health["status"] == "ok" else 503
                assert resp.status_code == expected, f"/health answered {resp.status_code}:\n{self.log_tail()}"
                if health["status"] in ("ok", "error"):
                    return health
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        raise AssertionError(f"server did not load in {timeout_s}s:\n{self.log_tail()}")

    def submit(self, **fields) -> httpx.Response:
        """POST /v1/jobs with defaults for a 5-frame, 2-step job."""
        body = {"image": image_b64(), "prompt": "a lighthouse at dusk", "num_frames": 5, "steps": 2, "seed": 1}
        return self.client.post("/v1/jobs", json={**body, **fields})

    def wait_job(self, job_id: str, until: tuple[str, ...] = ("succeeded", "failed"), timeout_s: float = 60) -> dict:
        """Poll a job until its status is one of ``until``."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            job = self.client.get(f"/v1/jobs/{job_id}").json()
            if job["status"] in until:
                return job
            time.sleep(0.05)
        raise AssertionError(f"job {job_id} not {until} in {timeout_s}s:\n{self.log_tail()}")

    def log_tail(self) -> str:
        self.log.flush()
        return self.log_path.read_text(errors="replace")[-4000:]

    def stop(self) -> None:
        self.client.close()
        self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    work = tmp_path_factory.mktemp("hunyuan")
    srv = Server(build_tiny_pipeline(work / "HunyuanVideo-1.5-tiny-i2v"), work)
    try:
        srv.wait_loaded()
        yield srv
    finally:
        srv.stop()


def ffprobe(path: Path) -> dict:
    """Codec, size, frame rate and exact frame count of the first video stream."""
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0", "-show_entries",
         "stream=codec_name,width,height,r_frame_rate,nb_read_frames,pix_fmt", "-of", "json", str(path)],
        capture_output=True, check=True, text=True)
    return json.loads(out.stdout)["streams"][0]


def download(srv: Server, job_id: str, dest: Path) -> dict:
    """GET the job's MP4 and probe it."""
    resp = srv.client.get(f"/v1/jobs/{job_id}/video")
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"] == "video/mp4"
    dest.write_bytes(resp.content)
    return ffprobe(dest)


# --------------------------------------------------------------------------------------------------
# Tests
# --------------------------------------------------------------------------------------------------


def test_health_reports_loaded_model_device_and_queue(server):
    health = server.client.get("/health").json()
    assert health["status"] == "ok" and health["server"] == "hunyuan-video-1.5" and health["error"] is None
    assert health["model"]["loaded"] is True
    assert health["model"]["pipeline"] == "HunyuanVideo15ImageToVideoPipeline"
    assert health["model"]["name"] == "HunyuanVideo-1.5-tiny-i2v"
    assert health["device"] == "cpu" and health["model"]["dtype"] == "float32"
    assert health["gpu"] is None
    assert health["queue"] == {"running": 0, "waiting": 0, "capacity": 1}


def test_job_produces_mp4_with_requested_frames_and_size(server, tmp_path):
    resp = server.submit(num_frames=9, steps=3, seed=7)
    assert resp.status_code == 202, resp.text
    job_id = resp.json()["job_id"]
    job = server.wait_job(job_id)
    assert job["status"] == "succeeded", job
    assert job["progress"] == {"step": 3, "total": 3}
    assert (job["params"]["height"], job["params"]["width"]) == (24, 40)  # the image's bucket
    assert job["result"]["frames"] == 9 and job["result"]["url"] == f"/v1/jobs/{job_id}/video"
    probe = download(server, job_id, tmp_path / "a.mp4")
    assert probe["codec_name"] == "h264" and probe["pix_fmt"] == "yuv420p"
    assert (probe["width"], probe["height"]) == (40, 24)
    assert int(probe["nb_read_frames"]) == 9
    assert probe["r_frame_rate"] == "24/1"


def test_job_honours_explicit_size_and_guidance(server, tmp_path):
    resp = server.submit(num_frames=5, height=32, width=32, guidance_scale=3.0, negative_prompt="blurry")
    assert resp.status_code == 202, resp.text
    job = server.wait_job(resp.json()["job_id"])
    assert job["status"] == "succeeded", job
    assert job["params"]["guidance_scale"] == 3.0
    probe = download(server, job["job_id"], tmp_path / "b.mp4")
    assert (probe["width"], probe["height"], int(probe["nb_read_frames"])) == (32, 32, 5)


@pytest.fixture(scope="module")
def queue_scenario(server):
    """A slow job runs; a second is queued behind it; a third finds the queue (max 1) full."""
    first = server.submit(steps=SLOW_STEPS, seed=11).json()
    server.wait_job(first["job_id"], until=("running", "succeeded", "failed"))
    second = server.submit(seed=12)
    third = server.submit(seed=13)
    queued_view = server.client.get(f"/v1/jobs/{second.json().get('job_id')}").json()
    health = server.client.get("/health").json()
    running_view = server.client.get(f"/v1/jobs/{first['job_id']}").json()
    done_first = server.wait_job(first["job_id"])
    done_second = server.wait_job(second.json()["job_id"])
    return {"first": done_first, "second_resp": second, "second_queued": queued_view, "second": done_second,
            "third": third, "health_while_busy": health, "first_while_busy": running_view}


def test_second_job_runs_after_the_first(queue_scenario):
    first, second = queue_scenario["first"], queue_scenario["second"]
    assert queue_scenario["second_resp"].status_code == 202
    assert queue_scenario["second_queued"]["status"] == "queued"
    assert queue_scenario["second_queued"]["queue_position"] == 1
    assert first["status"] == second["status"] == "succeeded"
    assert second["started_at"] >= first["finished_at"]
    assert first["progress"] == {"step": SLOW_STEPS, "total": SLOW_STEPS}
    assert queue_scenario["first_while_busy"]["status"] == "running"
    assert queue_scenario["health_while_busy"]["queue"] == {"running": 1, "waiting": 1, "capacity": 1}


def test_full_queue_answers_429(queue_scenario):
    third = queue_scenario["third"]
    assert third.status_code == 429
    assert third.json()["code"] == "queue_full"
    assert third.json()["request_id"] == third.headers["x-request-id"]
    assert int(third.headers["retry-after"]) > 0


@pytest.mark.parametrize(("image", "code"), [
    (base64.b64encode(b"this is not a picture").decode(), "image_invalid"),
    ("%%% not base64 %%%", "image_invalid"),
    (image_b64(fmt="PNG")[:40], "image_invalid"),  # a truncated PNG
])
def test_bad_image_is_refused_with_code(server, image, code):
    resp = server.submit(image=image)
    assert resp.status_code == 422
    assert resp.json()["code"] == code
    assert "Traceback" not in resp.text


@pytest.mark.parametrize(("fields", "status", "code"), [
    ({"prompt": "x" * 201}, 422, "prompt_too_long"),
    ({"prompt": "   "}, 422, "prompt_empty"),
    ({"negative_prompt": "y" * 201}, 422, "negative_prompt_too_long"),
    ({"num_frames": 6}, 422, "num_frames_invalid"),
    ({"num_frames": 35}, 422, "num_frames_invalid"),
    ({"steps": 0}, 422, "steps_invalid"),
    ({"height": 32}, 422, "size_incomplete"),
    ({"height": 30, "width": 32}, 422, "size_invalid"),
    ({"height": 64, "width": 64}, 422, "size_too_large"),
    ({"guidance_scale": 0.5}, 422, "guidance_invalid"),
    ({"frames": 5}, 422, "invalid_request"),
])
def test_out_of_range_inputs_are_refused_with_code(server, fields, status, code):
    resp = server.submit(**fields)
    assert resp.status_code == status, resp.text
    assert resp.json()["code"] == code


def test_unknown_job_is_404_and_unfinished_video_is_not_served(server):
    assert server.client.get("/v1/jobs/nope").json()["code"] == "job_not_found"
    assert server.client.get("/v1/jobs/nope/video").status_code == 404


def test_missing_model_folder_reports_error_and_refuses_jobs(tmp_path):
    empty = tmp_path / "no-model-here"
    empty.mkdir()
    srv = Server(empty, tmp_path)
    try:
        health = srv.wait_loaded(timeout_s=30)
        assert health["status"] == "error" and health["model"]["loaded"] is False
        assert srv.client.get("/health").status_code == 503
        assert health["error"]["code"] == "model_dir_invalid"
        resp = srv.submit()
        assert resp.status_code == 503 and resp.json()["code"] == "model_unavailable"
    finally:
        srv.stop()


# --------------------------------------------------------------------------------------------------
# Pure helpers, imported by path
# --------------------------------------------------------------------------------------------------


def load_api():
    """Import HunyuanVideo-1.5/api.py as a module (its folder name is not importable)."""
    return import_by_path("hunyuan_api", API_PATH)


def test_store_cleans_old_outputs_and_fails_interrupted_jobs(tmp_path):
    api = load_api()
    store = api.JobStore(tmp_path)
    params = api.JobParams(prompt="p", negative_prompt="", num_frames=5, steps=2, seed=1, height=32, width=32,
                           guidance_scale=1.0)
    now = time.time()
    old = api.JobRecord(id="old", status="succeeded", seq=1, request_id="r", created_at=now - 10,
                        finished_at=now - 10, params=params)
    fresh = api.JobRecord(id="fresh", status="succeeded", seq=2, request_id="r", created_at=now, finished_at=now,
                          params=params)
    stuck = api.JobRecord(id="stuck", status="running", seq=3, request_id="r", created_at=now, params=params)
    for record in (old, fresh, stuck):
        store.save(record)
    store.video_path("old").write_bytes(b"mp4")

    reopened = api.JobStore(tmp_path)
    assert reopened.load_existing() == 3
    assert reopened.jobs["stuck"].status == "failed" and reopened.jobs["stuck"].error.code == "interrupted"
    assert reopened.next_seq() == 4
    assert reopened.cleanup(ttl_s=5, now=now) == 1
    assert not (tmp_path / "jobs" / "old").exists() and "fresh" in reopened.jobs
