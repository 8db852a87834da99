"""Clients of our own GPU servers: HunyuanVideo-1.5 (clips) and CosyVoice (speech), against their doubles,
plus the CosyVoice client against the real CosyVoice/api.py (espeak engine) and a field-by-field check
that the doubles still speak the servers' contracts."""

from __future__ import annotations

import base64
import io
import sys
import wave
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

from app.core.errors import TerminalBackendError, TransientBackendError
from app.core.settings.vendors import CosyVoiceSettings, HunyuanSettings
from app.services.clip.base import ClipRequest
from app.services.clip.hunyuan import HunyuanAnimator, frames_for
from app.services.narration.base import SpeechRequest
from app.services.narration.cosyvoice import CosyVoiceSpeaker, tts_body, wav_seconds
from tests.by_path import import_by_path
from tests.doubles import cosyvoice as cosy_double
from tests.doubles import hunyuan as hy_double
from tests.doubles.cosyvoice import CosyVoiceDouble, serve_cosyvoice
from tests.doubles.hunyuan import HunyuanDouble, serve_hunyuan
from tests.media import probe, stream
from tests.server import REPO, free_port
from tests.subprocess_server import ScriptServer


@pytest.fixture
def hy() -> Iterator[HunyuanDouble]:
    with serve_hunyuan() as double:
        yield double


@pytest.fixture
def cosy() -> Iterator[CosyVoiceDouble]:
    with serve_cosyvoice() as double:
        yield double


def animator(base_url: str, **overrides) -> HunyuanAnimator:
    cfg = {"BASE_URL": base_url, "POLL_INTERVAL_S": 0.02, "REQUEST_TIMEOUT_S": 5, "JOB_TIMEOUT_S": 20,
           "RETRIES": 2, "BACKOFF_BASE_S": 0.01, "BACKOFF_MAX_S": 0.05, "NEGATIVE_PROMPT": "blurry"}
    return HunyuanAnimator(HunyuanSettings(**{**cfg, **overrides}), preset="ultrafast")


def clip_request(tmp_path: Path, **overrides) -> ClipRequest:
    keyframe = tmp_path / "keyframe.png"
    Image.new("RGB", (640, 360), (200, 120, 40)).save(keyframe)
    fields = {"keyframe_path": keyframe, "prompt": "女孩在雨中奔跑", "prompts": {"en": "a girl runs in the rain"},
              "camera": "水平横移", "duration": 2.0, "width": 320, "height": 180, "fps": 25, "seed": 11}
    return ClipRequest(**{**fields, **overrides})


def speaker(base_url: str, **overrides) -> CosyVoiceSpeaker:
    cfg = {"BASE_URL": base_url, "SPEAKER": "narrator", "TIMEOUT_S": 5, "RETRIES": 2, "BACKOFF_BASE_S": 0.01,
           "BACKOFF_MAX_S": 0.05}
    return CosyVoiceSpeaker(CosyVoiceSettings(**{**cfg, **overrides}))


# ---------------------------------------------------------------------------------------------- HunyuanVideo


async def test_hunyuan_writes_a_silent_clip_fitted_to_the_shot(hy, tmp_path: Path) -> None:
    out = tmp_path / "clip.mp4"
    await animator(hy.base_url).animate(clip_request(tmp_path), out)
    info = probe(out)
    video = stream(info, "video")
    assert [s["codec_type"] for s in info["streams"]] == ["video"]
    assert (video["codec_name"], video["width"], video["height"], video["nb_frames"]) == ("h264", 320, 180, "50")
    body = hy.bodies[0]
    assert (body["prompt"], body["negative_prompt"], body["num_frames"], body["seed"]) == (
        "a girl runs in the rain", "blurry", 49, 11)
    assert base64.b64decode(body["image"]) == (tmp_path / "keyframe.png").read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clip.mp4", "keyframe.png"]


async def test_hunyuan_retries_a_full_queue_and_then_succeeds(hy, tmp_path: Path) -> None:
    hy.queue_full = 1
    await animator(hy.base_url).animate(clip_request(tmp_path), tmp_path / "clip.mp4")
    assert hy.count("submit") == 2 and len(hy.jobs) == 1


async def test_hunyuan_retries_a_500_while_polling(hy, tmp_path: Path) -> None:
    hy.http_errors["status"].append(500)
    await animator(hy.base_url).animate(clip_request(tmp_path), tmp_path / "clip.mp4")
    assert hy.count("submit") == 1 and (tmp_path / "clip.mp4").exists()


async def test_hunyuan_failed_job_is_terminal_with_the_servers_message(hy, tmp_path: Path) -> None:
    hy.fail_with = ("gpu_out_of_memory", "the GPU ran out of memory; try fewer frames or offload")
    with pytest.raises(TerminalBackendError) as info:
        await animator(hy.base_url).animate(clip_request(tmp_path), tmp_path / "clip.mp4")
    assert (info.value.code, info.value.message) == hy.fail_with
    assert hy.count("submit") == 1 and hy.count("video") == 0


async def test_hunyuan_refused_input_is_terminal_and_not_retried(hy, tmp_path: Path) -> None:
    with pytest.raises(TerminalBackendError) as info:
        await animator(hy.base_url).animate(clip_request(tmp_path, prompt=" ", prompts={}), tmp_path / "c.mp4")
    assert info.value.code == "prompt_empty" and "prompt must not be empty" in info.value.message
    assert hy.count("submit") == 1


async def test_hunyuan_job_stuck_running_hits_the_job_timeout(hy, tmp_path: Path) -> None:
    hy.stuck = True
    with pytest.raises(TransientBackendError) as info:
        await animator(hy.base_url, JOB_TIMEOUT_S=0.5).animate(clip_request(tmp_path), tmp_path / "c.mp4")
    assert info.value.code == "timeout" and hy.count("status") > 3


async def test_hunyuan_hanging_server_times_out_after_the_retries(hy, tmp_path: Path) -> None:
    hy.hang.add("submit")
    with pytest.raises(TransientBackendError) as info:
        await animator(hy.base_url, REQUEST_TIMEOUT_S=0.3, RETRIES=1).animate(clip_request(tmp_path), tmp_path / "c")
    assert info.value.code == "timeout" and hy.count("submit") == 2


async def test_hunyuan_readiness_follows_the_health_report(hy) -> None:
    ready = await animator(hy.base_url).ready()
    assert ready.ready and "loaded on cuda" in ready.detail
    hy.loading = True
    loading = await animator(hy.base_url).ready()
    assert not loading.ready and "loading" in loading.detail
    down = await animator(f"http://127.0.0.1:{free_port()}").ready()
    assert not down.ready and "ConnectError" in down.detail


@pytest.mark.parametrize(("duration", "frames"), [(5.0, 121), (2.0, 49), (2.01, 49), (2.05, 53), (0.1, 5), (9.0, 121)])
def test_frames_for_covers_the_duration_with_4k_plus_1_frames(duration: float, frames: int) -> None:
    assert frames_for(duration, 24, 121) == frames


# ---------------------------------------------------------------------------------------------- CosyVoice


def speech(**overrides) -> SpeechRequest:
    return SpeechRequest(**{"text": "小狗贝贝住在海边的小木屋里。", "language": "zh", "tone": "温柔", **overrides})


async def test_cosyvoice_writes_a_valid_wav_and_returns_its_duration(cosy, tmp_path: Path) -> None:
    out = tmp_path / "n.wav"
    seconds = await speaker(cosy.base_url, SPEED=1.25).synthesize(speech(), out)
    with wave.open(str(out), "rb") as wav:
        assert (wav.getnchannels(), wav.getsampwidth(), wav.getframerate()) == (1, 2, 24000)
        assert seconds == pytest.approx(wav.getnframes() / 24000) and seconds > 1
    assert cosy.bodies == [{"text": "小狗贝贝住在海边的小木屋里。", "speaker": "narrator", "speed": 1.25,
                            "instruct": "用温柔的语气说"}]
    assert [p.name for p in tmp_path.iterdir()] == ["n.wav"]


def test_cosyvoice_body_takes_an_english_instruct_and_clamps_speed() -> None:
    body = tts_body(speech(language="en", text="Hello.", tone="cheerful", speed=3.0), CosyVoiceSettings(SPEAKER=""))
    assert body == {"text": "Hello.", "speaker": "", "speed": 2.0, "instruct": "Say it in a cheerful tone."}
    assert "instruct" not in tts_body(speech(tone=""), CosyVoiceSettings())


async def test_cosyvoice_retries_a_full_queue_and_a_500(cosy, tmp_path: Path) -> None:
    cosy.queue_full = 1
    cosy.http_errors["tts"].append(500)
    assert await speaker(cosy.base_url).synthesize(speech(), tmp_path / "n.wav") > 0
    assert cosy.count("tts") == 3


async def test_cosyvoice_unknown_speaker_is_terminal_with_the_servers_message(cosy, tmp_path: Path) -> None:
    with pytest.raises(TerminalBackendError) as info:
        await speaker(cosy.base_url, SPEAKER="nobody").synthesize(speech(), tmp_path / "n.wav")
    assert info.value.code == "unknown_speaker" and "unknown speaker 'nobody'" in info.value.message
    assert cosy.count("tts") == 1 and not (tmp_path / "n.wav").exists()


async def test_cosyvoice_error_text_answered_as_audio_is_refused(cosy, tmp_path: Path) -> None:
    cosy.garbage = 1
    with pytest.raises(TerminalBackendError) as info:
        await speaker(cosy.base_url).synthesize(speech(), tmp_path / "n.wav")
    assert info.value.code == "invalid_audio" and "CUDA error" in info.value.message
    assert not (tmp_path / "n.wav").exists()


async def test_cosyvoice_hanging_server_times_out_after_the_retries(cosy, tmp_path: Path) -> None:
    cosy.hang.add("tts")
    with pytest.raises(TransientBackendError) as info:
        await speaker(cosy.base_url, TIMEOUT_S=0.3, RETRIES=1).synthesize(speech(), tmp_path / "n.wav")
    assert info.value.code == "timeout" and cosy.count("tts") == 2


async def test_cosyvoice_readiness_checks_health_and_the_configured_speaker(cosy) -> None:
    ready = await speaker(cosy.base_url).ready()
    assert ready.ready and "24000 Hz" in ready.detail
    unknown = await speaker(cosy.base_url, SPEAKER="nobody").ready()
    assert not unknown.ready and "nobody" in unknown.detail
    down = await speaker(f"http://127.0.0.1:{free_port()}").ready()
    assert not down.ready


def test_wav_seconds_refuses_empty_and_truncated_audio() -> None:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(16000)
        wav.writeframes(b"\x00\x00" * 1600)
    assert wav_seconds(buffer.getvalue()) == pytest.approx(0.1)
    for data in (buffer.getvalue()[:44], buffer.getvalue()[:200], b"", b'{"code": "internal_error"}'):
        with pytest.raises(TerminalBackendError):
            wav_seconds(data)


async def test_cosyvoice_client_works_with_the_real_server(tmp_path: Path) -> None:
    env = {"COSYVOICE_ENGINE": "espeak", "COSYVOICE_PORT": "{port}", "COSYVOICE_SPEAKERS_DIR": str(tmp_path / "none")}
    server = ScriptServer([sys.executable, str(REPO / "CosyVoice" / "api.py")], cwd=REPO, env=env,
                          log_path=tmp_path / "server.log").start()
    try:
        client = speaker(server.base_url, SPEAKER="", TIMEOUT_S=60)
        seconds = await client.synthesize(speech(), tmp_path / "n.wav")
        with wave.open(str(tmp_path / "n.wav"), "rb") as wav:
            assert wav.getframerate() == 22050 and seconds == pytest.approx(wav.getnframes() / 22050)
            assert seconds > 0.5
        assert (await client.ready()).ready
        with pytest.raises(TerminalBackendError) as info:
            await speaker(server.base_url, SPEAKER="nobody").synthesize(speech(), tmp_path / "x.wav")
        assert info.value.code == "unknown_speaker"
    finally:
        server.stop()


# ---------------------------------------------------------------------------------------------- contracts


def load_server(folder: str):
    return import_by_path(f"{folder.replace('-', '_').replace('.', '_')}_contract", REPO / folder / "api.py")


def test_hunyuan_double_has_the_servers_request_and_job_fields(tmp_path: Path) -> None:
    server = load_server("HunyuanVideo-1.5")
    assert hy_double.JobCreate.model_fields.keys() == server.JobCreate.model_fields.keys()
    double = HunyuanDouble(tmp_path)
    double.jobs["j"] = {"job_id": "j", "status": "queued", "created_at": 0.0, "started_at": None,
                        "finished_at": None, "progress": None, "error": None, "result": None, "params": {},
                        "request_id": "r"}
    params = server.JobParams(prompt="p", negative_prompt="", num_frames=5, steps=2, seed=1, height=32, width=32,
                              guidance_scale=1.0)
    record = server.JobRecord(id="j", status="queued", seq=1, request_id="r", created_at=0.0, params=params)
    worker = server.Worker(server.Settings(model_dir=tmp_path, work_dir=tmp_path), server.JobStore(tmp_path))
    assert double.public("j").keys() == server.public(record, worker).keys()
    assert server.JobParams.model_fields.keys() == {"prompt", "negative_prompt", "num_frames", "steps", "seed",
                                                     "height", "width", "guidance_scale"}


def test_cosyvoice_double_has_the_servers_request_fields() -> None:
    server = load_server("CosyVoice")
    assert cosy_double.TTSRequest.model_fields.keys() == server.TTSRequest.model_fields.keys()
    assert cosy_double.SAMPLE_RATE in (22050, 24000)
