"""CosyVoice/api.py: the real server over HTTP (espeak engine, and the CosyVoice engine on a stand-in checkout),
plus the CosyVoice adapter against a stand-in with CosyVoice's generator interface."""

from __future__ import annotations

import io
import shutil
import struct
import sys
import wave
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from tests import cosyvoice_standin
from tests.by_path import import_by_path
from tests.doubles.clips import tone_pcm, wav_of
from tests.server import REPO
from tests.subprocess_server import ScriptServer

API = REPO / "CosyVoice" / "api.py"
SENTENCES = [
    "小狗贝贝住在海边的小木屋里。",
    "每天清晨，它都会跑到沙滩上看日出。",
    "有一天，它在礁石旁边发现了一只受伤的海鸥。",
    "贝贝小心翼翼地把海鸥带回了家。",
    "在贝贝的照顾下，海鸥慢慢恢复了健康。",
    "最后，海鸥带着感激飞向了蓝天。",
]
PARAGRAPH = "".join(SENTENCES)


def load_api():
    """Import CosyVoice/api.py by path (its folder name is not a package)."""
    return import_by_path("cosyvoice_api_under_test", API)


def write_prompt_wav(path: Path, seconds: float = 2.0, rate: int = 16000) -> Path:
    path.write_bytes(wav_of(tone_pcm(int(seconds * rate), rate), rate))
    return path


def make_speakers(folder: Path) -> Path:
    """narrator (valid), orphan (no transcript: skipped)."""
    folder.mkdir(parents=True, exist_ok=True)
    write_prompt_wav(folder / "narrator.wav")
    (folder / "narrator.txt").write_text("希望你以后能够做的比我还好呦。", encoding="utf-8")
    write_prompt_wav(folder / "orphan.wav")
    return folder


def read_wav(data: bytes) -> tuple[int, float, np.ndarray]:
    """(sample rate, seconds, samples in [-1, 1]) of a 16-bit mono WAV."""
    with wave.open(io.BytesIO(data), "rb") as wav:
        assert (wav.getnchannels(), wav.getsampwidth()) == (1, 2)
        rate, frames = wav.getframerate(), wav.readframes(wav.getnframes())
    samples = np.frombuffer(frames, dtype="<i2").astype(np.float32) / 32767
    return rate, len(samples) / rate, samples


@pytest.fixture(scope="module")
def espeak_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ScriptServer]:
    tmp = tmp_path_factory.mktemp("cosyvoice-espeak")
    env = {"COSYVOICE_ENGINE": "espeak", "COSYVOICE_PORT": "{port}", "COSYVOICE_SPEAKERS_DIR": str(
        make_speakers(tmp / "speakers")), "COSYVOICE_MAX_TEXT_CHARS": "400", "COSYVOICE_MAX_BODY_BYTES": "8192"}
    server = ScriptServer([sys.executable, str(API)], cwd=REPO, env=env, log_path=tmp / "server.log").start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def cosyvoice_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ScriptServer]:
    """The real server with COSYVOICE_ENGINE=cosyvoice on a fake checkout whose AutoModel is the stand-in."""
    tmp = tmp_path_factory.mktemp("cosyvoice-standin")
    cli = tmp / "checkout" / "cosyvoice" / "cli"
    cli.mkdir(parents=True)
    (tmp / "checkout" / "third_party" / "Matcha-TTS").mkdir(parents=True)
    for package in (cli.parent, cli):
        (package / "__init__.py").write_text("")
    shutil.copy(cosyvoice_standin.__file__, cli / "cosyvoice.py")
    model_dir = tmp / "CosyVoice2-0.5B"
    model_dir.mkdir()
    (model_dir / "cosyvoice2.yaml").write_text("sample_rate: 24000\n")
    env = {"COSYVOICE_ENGINE": "cosyvoice", "COSYVOICE_PORT": "{port}", "COSYVOICE_REPO_DIR": str(tmp / "checkout"),
           "COSYVOICE_MODEL_DIR": str(model_dir), "COSYVOICE_SPEAKERS_DIR": str(make_speakers(tmp / "speakers"))}
    server = ScriptServer([sys.executable, str(API)], cwd=REPO, env=env, log_path=tmp / "server.log").start()
    yield server
    server.stop()


# ------------------------------------------------------------------------------------------ espeak over HTTP


def test_tts_long_chinese_paragraph_is_one_wav_covering_every_sentence(espeak_server: ScriptServer) -> None:
    with espeak_server.client() as client:
        whole = client.post("/v1/tts", json={"text": PARAGRAPH, "speaker": "中文女", "speed": 1.0})
        parts = [client.post("/v1/tts", json={"text": s, "speaker": "中文女"}) for s in SENTENCES]
    assert whole.status_code == 200, whole.text
    assert whole.headers["content-type"] == "audio/wav"
    rate, seconds, _ = read_wav(whole.content)
    assert rate == int(whole.headers["x-sample-rate"]) == 22050
    assert whole.headers["x-segments"] == str(len(SENTENCES))
    part_seconds = [read_wav(p.content)[1] for p in parts]
    assert seconds == pytest.approx(sum(part_seconds), rel=0.02)  # every sentence is in the one WAV
    assert seconds > 4 * part_seconds[0]  # not just the first sentence (the upstream bug)


def test_tts_unknown_speaker_is_422_listing_the_speakers(espeak_server: ScriptServer) -> None:
    with espeak_server.client() as client:
        response = client.post("/v1/tts", json={"text": "你好。", "speaker": "xiaoyue"})
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "unknown_speaker" and body["request_id"] == response.headers["x-request-id"]
    assert {"中文女", "中文男", "narrator"} <= set(body["details"]["speakers"])
    assert "xiaoyue" in body["message"] and "narrator" in body["message"]


def test_speakers_lists_builtin_and_zero_shot_from_the_speakers_folder(espeak_server: ScriptServer) -> None:
    with espeak_server.client() as client:
        body = client.get("/v1/speakers").json()
    kinds = {s["id"]: s["kind"] for s in body["speakers"]}
    assert body["engine"] == "espeak" and body["default_speaker"] == "中文女"
    assert kinds["中文女"] == "builtin" and kinds["narrator"] == "zero_shot"
    assert "orphan" not in kinds  # a WAV without its transcript is not registered
    assert all(s["clones_voice"] is False for s in body["speakers"])  # espeak says so honestly


def test_tts_zero_shot_speaker_on_espeak_speaks_but_says_it_is_not_cloned(espeak_server: ScriptServer) -> None:
    with espeak_server.client() as client:
        response = client.post("/v1/tts", json={"text": "你好，世界。", "speaker": "narrator", "style": "温柔"})
    assert response.status_code == 200
    assert response.headers["x-speaker-cloned"] == "false" and response.headers["x-instruct-applied"] == "false"
    assert read_wav(response.content)[1] > 0.5


@pytest.mark.parametrize(("body", "status", "code"), [
    ({"text": "长" * 401}, 422, "text_too_long"),
    ({"text": "你好", "instruct": "温柔" * 101}, 422, "instruct_too_long"),
    ({"text": "。！？……"}, 422, "empty_text"),
    ({"text": ""}, 422, "invalid_request"),
    ({"text": "你好", "speed": 3.0}, 422, "invalid_request"),
    ({"text": "你好" * 3000}, 413, "payload_too_large"),
])
def test_tts_refuses_bad_input_with_a_code(espeak_server: ScriptServer, body: dict, status: int, code: str) -> None:
    with espeak_server.client() as client:
        response = client.post("/v1/tts", json=body)
    assert response.status_code == status, response.text
    assert response.json()["code"] == code
    assert "长长长" not in response.text  # the input is not echoed back


def test_health_reports_engine_queue_and_sample_rate(espeak_server: ScriptServer) -> None:
    with espeak_server.client() as client:
        health = client.get("/health").json()
    model = health["model"]
    assert health["status"] == "ok" and model["engine"] == "espeak" and model["loaded"] is True
    assert model["sample_rate"] == 22050 and model["speakers"] == 5
    assert health["queue"] == {"running": 0, "waiting": 0, "capacity": 8}
    assert health["device"] == "cpu" and health["gpu"] is None


# ------------------------------------------------------------------------------------------ CosyVoice engine over HTTP


def test_cosyvoice_engine_over_http_concatenates_segments_at_the_model_rate(cosyvoice_server: ScriptServer) -> None:
    with cosyvoice_server.client() as client:
        health = client.get("/health").json()
        speakers = {s["id"]: s["kind"] for s in client.get("/v1/speakers").json()["speakers"]}
        response = client.post("/v1/tts", json={"text": PARAGRAPH, "speaker": "narrator", "instruct": "用温柔的语气说"})
    assert health["model"]["engine"] == "cosyvoice" and health["model"]["name"] == "CosyVoice2-0.5B"
    assert speakers == {"中文女": "builtin", "英文男": "builtin", "narrator": "zero_shot"}
    assert response.status_code == 200, response.text
    rate, seconds, samples = read_wav(response.content)
    assert rate == 24000
    assert seconds == pytest.approx(len(PARAGRAPH) * cosyvoice_standin.SECONDS_PER_CHAR, abs=0.01)
    assert np.allclose(samples, cosyvoice_standin.AMPLITUDE["instruct2"], atol=1e-3)  # routed to instruct2
    assert response.headers["x-segments"] == str(len(SENTENCES))
    assert response.headers["x-instruct-applied"] == "true" and response.headers["x-speaker-cloned"] == "true"


# ------------------------------------------------------------------------------------------ adapter vs stand-in


@pytest.fixture(scope="module")
def api():
    return load_api()


def make_engine(api, tmp_path: Path, cls=cosyvoice_standin.CosyVoice2):
    speakers = api.load_zero_shot_speakers(make_speakers(tmp_path / "speakers"), max_seconds=30)
    return api.CosyVoiceEngine(cls(model_dir=str(tmp_path)), speakers), speakers[0]


def test_adapter_concatenates_every_segment_at_model_sample_rate(api, tmp_path: Path) -> None:
    engine, _ = make_engine(api, tmp_path)
    engine.cosy.sample_rate = 22050  # whatever the model says, never a constant
    audio = engine.synthesize(api.Synthesis(PARAGRAPH, "中文女", 1.0))
    assert audio.sample_rate == 22050 and audio.segments == len(SENTENCES)
    expected = sum(round(len(s) * cosyvoice_standin.SECONDS_PER_CHAR * 22050) for s in SENTENCES)
    assert len(audio.pcm) == 2 * expected
    rate, _, samples = read_wav(api.wav_bytes(audio.pcm, audio.sample_rate))
    assert rate == 22050 and np.allclose(samples, 0.1, atol=1e-3)


def test_adapter_routes_builtin_speaker_to_inference_sft(api, tmp_path: Path) -> None:
    engine, _ = make_engine(api, tmp_path)
    audio = engine.synthesize(api.Synthesis("你好。", "英文男", 1.5))
    assert engine.cosy.calls[-1] == ("inference_sft", "你好。", "英文男", 1.5)
    assert audio.cloned is False and audio.instruct_applied is False


def test_adapter_routes_zero_shot_speaker_by_its_registered_id(api, tmp_path: Path) -> None:
    engine, narrator = make_engine(api, tmp_path)
    assert engine.cosy.calls[0] == ("add_zero_shot_spk", narrator.transcript, str(narrator.wav), "narrator")
    audio = engine.synthesize(api.Synthesis("你好。", "narrator", 0.8))
    assert engine.cosy.calls[-1] == ("inference_zero_shot", "你好。", narrator.transcript, str(narrator.wav),
                                     "narrator", 0.8)
    assert audio.cloned is True and audio.instruct_applied is False


def test_adapter_routes_instruct_to_instruct2_with_the_prompt_wav(api, tmp_path: Path) -> None:
    engine, narrator = make_engine(api, tmp_path)
    audio = engine.synthesize(api.Synthesis("你好。", "narrator", 1.0, "用开心的语气说"))
    # An empty spk id: with one, CosyVoice reuses the cached prompt and drops the instruct text. CosyVoice2's
    # instruct text ends with <|endofprompt|> (official example.py); without it the instruction is read aloud.
    assert engine.cosy.calls[-1] == ("inference_instruct2", "你好。", "用开心的语气说<|endofprompt|>",
                                     str(narrator.wav), "", 1.0)
    assert audio.instruct_applied is True
    assert len(audio.pcm) == 2 * round(len("你好。") * cosyvoice_standin.SECONDS_PER_CHAR * 24000)


def test_adapter_builtin_speaker_with_instruct_falls_back_to_sft_and_says_so(api, tmp_path: Path) -> None:
    engine, _ = make_engine(api, tmp_path)
    audio = engine.synthesize(api.Synthesis("你好。", "中文女", 1.0, "用开心的语气说"))
    assert engine.cosy.calls[-1][0] == "inference_sft" and audio.instruct_applied is False


def test_adapter_adds_cosyvoice3_prompt_markers(api, tmp_path: Path) -> None:
    engine, narrator = make_engine(api, tmp_path, cosyvoice_standin.CosyVoice3)
    assert engine.cosy.calls[0][1] == f"You are a helpful assistant.<|endofprompt|>{narrator.transcript}"
    engine.synthesize(api.Synthesis("你好。", "narrator", 1.0, "用开心的语气说"))
    assert engine.cosy.calls[-1][2] == "You are a helpful assistant. 用开心的语气说<|endofprompt|>"


def test_adapter_cosyvoice3_builtin_speaker_speaks_through_sft_with_the_marker_per_sentence(api, tmp_path) -> None:
    engine, _ = make_engine(api, tmp_path, cosyvoice_standin.CosyVoice3)
    audio = engine.synthesize(api.Synthesis(PARAGRAPH, "中文女", 1.0))  # CosyVoice3's LM asserts the marker here
    sft = [call for call in engine.cosy.calls if call[0] == "inference_sft"]
    assert [call[1] for call in sft] == [f"You are a helpful assistant.<|endofprompt|>{s}" for s in SENTENCES]
    assert audio.segments == len(SENTENCES) and audio.instruct_applied is False
    expected = sum(round(len(s) * cosyvoice_standin.SECONDS_PER_CHAR * 24000) for s in SENTENCES)
    assert len(audio.pcm) == 2 * expected  # the system prompt is not spoken


def test_adapter_keeps_an_instruct_that_already_has_its_marker(api, tmp_path) -> None:
    for cls in (cosyvoice_standin.CosyVoice2, cosyvoice_standin.CosyVoice3):
        engine, _ = make_engine(api, tmp_path, cls)
        assert engine.instruct_text("用四川话说这句话<|endofprompt|>") == "用四川话说这句话<|endofprompt|>"


def test_speech_to_pcm16_takes_torch_like_tensors_and_clips(api) -> None:
    class TensorLike:  # what a CUDA torch tensor offers the adapter: detach().float().cpu().numpy()
        def __init__(self, values):
            self.values = np.asarray(values, dtype=np.float32)

        def detach(self):
            return self

        def float(self):
            return self

        def cpu(self):
            return self

        def numpy(self):
            return self.values

    pcm = api.speech_to_pcm16(TensorLike([[0.0, 0.5, 2.0, -2.0]]))
    assert struct.unpack("<4h", pcm) == (0, 16383, 32767, -32767)


def test_split_sentences_keeps_every_character(api) -> None:
    long = "这是一个非常长的句子，" * 30 + "结束。"
    pieces = api.split_sentences(PARAGRAPH + long + "Hello there. How are you?", max_chars=60)
    assert "".join(pieces).replace(" ", "") == (PARAGRAPH + long + "Hello there.How are you?").replace(" ", "")
    assert all(len(p) <= 60 for p in pieces) and pieces[:len(SENTENCES)] == SENTENCES
