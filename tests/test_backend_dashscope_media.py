"""DashScope media backends (wan text-to-image, wan image-to-video, CosyVoice TTS) driven through the dashscope SDK
against the local double in tests/doubles/dashscope.py."""

from __future__ import annotations

import base64
import io
import json
import time
import uuid
import wave
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from PIL import Image
from pydantic import SecretStr
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from app.core.errors import ConfigurationError, TerminalBackendError, TransientBackendError
from app.core.settings import Settings
from app.core.settings.dashscope import (
    DashScopeImageSettings,
    DashScopeSettings,
    DashScopeSpeechSettings,
    DashScopeVideoSettings,
)
from app.services.clip.base import ClipRequest
from app.services.clip.dashscope import DashScopeClipAnimator, vendor_duration
from app.services.dashscope_common import probe_readiness, vendor_error
from app.services.keyframe.base import KeyframeRequest
from app.services.keyframe.dashscope import DashScopeKeyframeRenderer, t2i_size
from app.services.narration.base import SpeechRequest
from app.services.narration.dashscope import DashScopeSpeaker, pcm_of_wav, voice_mismatch
from app.services.publish.local import LocalObjectStore
from app.services.registry import build
from tests.doubles.dashscope import WS_PATH, DashScopeDouble, check_i2v, speech
from tests.doubles.serving import serve_in_thread
from tests.media import image_facts, probe, stream

KEY = "sk-double-media"
FAST = {"BACKOFF_BASE_S": 0.01, "BACKOFF_MAX_S": 0.02, "TIMEOUT_S": 20.0}


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[DashScopeDouble, str]]:
    double = DashScopeDouble(KEY)
    with serve_in_thread(double.app) as base_url:
        yield double, base_url


@pytest.fixture
def double(served: tuple[DashScopeDouble, str]) -> DashScopeDouble:
    served[0].reset()
    served[0].url_ttl_s = 30.0
    return served[0]


@pytest.fixture
def account(served: tuple[DashScopeDouble, str]) -> DashScopeSettings:
    base = served[1]
    return DashScopeSettings(API_KEY=KEY, BASE_HTTP_URL=f"{base}/api/v1", BASE_WS_URL=f"ws{base[4:]}{WS_PATH}",
                             POLL_INTERVAL_S=0.02)


def keyframe_request(**overrides) -> KeyframeRequest:
    fields = {"story_title": "灯塔", "style": "水彩", "shot_id": "shot_01", "sequence": 1, "subject": "老人",
              "image_detail": "水彩风格，海边灯塔下的老人，黄昏逆光", "camera": "推镜头", "tone": "平静",
              "width": 320, "height": 180, "seed": 4242}
    return KeyframeRequest(**{**fields, **overrides})


def renderer(account: DashScopeSettings, **knobs) -> DashScopeKeyframeRenderer:
    return DashScopeKeyframeRenderer(account, DashScopeImageSettings(**{**FAST, **knobs}))


def animator(account: DashScopeSettings, **knobs) -> DashScopeClipAnimator:
    store = knobs.pop("store", None)
    settings = DashScopeVideoSettings(**{"RESOLUTION": "480P", **FAST, **knobs})
    return DashScopeClipAnimator(account, settings, store=store)


def speaker(account: DashScopeSettings, **knobs) -> DashScopeSpeaker:
    return DashScopeSpeaker(account, DashScopeSpeechSettings(**{**FAST, **knobs}))


def clip_request(keyframe: Path, **overrides) -> ClipRequest:
    fields = {"keyframe_path": keyframe, "prompt": "the old man looks up", "prompts": {"zh": "老人抬头望向灯塔"},
              "camera": "推镜头", "duration": 3.2, "width": 320, "height": 180, "fps": 12, "seed": 7}
    return ClipRequest(**{**fields, **overrides})


@pytest.fixture
def keyframe(tmp_path: Path) -> Path:
    path = tmp_path / "keyframe.png"
    Image.new("RGB", (320, 180), (200, 120, 40)).save(path)
    return path


# --- pure rules ------------------------------------------------------------------------------------------


def test_t2i_size_asks_for_the_request_size_when_the_model_allows_it_else_the_nearest():
    assert t2i_size("wan2.2-t2i-flash", 1280, 720) == (1280, 720)
    assert t2i_size("wan2.2-t2i-flash", 320, 180) == (912, 512)  # sides ≥ 512, aspect kept
    assert t2i_size("wan2.5-t2i-preview", 320, 180) == (1024, 576)  # ≥ 768² pixels
    assert t2i_size("wan2.2-t2i-flash", 3840, 2160) == (1440, 800)
    assert t2i_size("wanx-v1", 1920, 1080) == (1280, 720)
    assert t2i_size("wanx-v1", 700, 1000) == (768, 1152)


def test_vendor_duration_is_the_shortest_accepted_length_covering_the_request_else_the_longest():
    assert vendor_duration((5, 10), 3.2) == 5
    assert vendor_duration((5, 10), 5.0) == 5
    assert vendor_duration((5, 10), 7.5) == 10
    assert vendor_duration((3, 4, 5), 12.0) == 5


def test_region_is_read_from_the_endpoint_unless_set():
    assert DashScopeSettings().region() == "cn-beijing"
    assert DashScopeSettings(BASE_HTTP_URL="https://dashscope-intl.aliyuncs.com/api/v1").region() == "ap-southeast-1"
    assert DashScopeSettings(BASE_HTTP_URL="http://proxy.local/api/v1", REGION="ap-southeast-1").region() == \
        "ap-southeast-1"


def test_voice_mismatch_pairs_each_cosyvoice_generation_with_its_own_voices():
    assert voice_mismatch("cosyvoice-v3.5-plus", "cosyvoice-v3.5-plus-narrator-0a1b2c3d") is None
    assert "no system voices" in voice_mismatch("cosyvoice-v3.5-flash", "longanyang")
    assert voice_mismatch("cosyvoice-v2", "longxiaochun_v2") is None
    assert voice_mismatch("cosyvoice-v1", "longxiaochun") is None
    assert voice_mismatch("cosyvoice-v3-flash", "longanyang") is None
    assert voice_mismatch("cosyvoice-v2", "cosyvoice-v2-myvoice-0123abcd") is None
    assert "_v2" in voice_mismatch("cosyvoice-v2", "longxiaochun")
    assert "unsuffixed" in voice_mismatch("cosyvoice-v1", "longxiaochun_v2")
    assert voice_mismatch("cosyvoice-v3-plus", "longwan_v2")
    assert "not a CosyVoice model" in voice_mismatch("sambert-zhichu-v1", "longxiaochun")


def test_vendor_error_retries_throttling_and_server_errors_only():
    assert isinstance(vendor_error("b", 429, "Throttling.RateQuota", "slow down"), TransientBackendError)
    assert isinstance(vendor_error("b", 500, "InternalError", "oops"), TransientBackendError)
    assert isinstance(vendor_error("b", 0, "Throttling", "ws"), TransientBackendError)
    for status, code in ((400, "DataInspectionFailed"), (400, "InvalidParameter"), (401, "InvalidApiKey")):
        error = vendor_error("b", status, code, "vendor words", "req-1")
        assert isinstance(error, TerminalBackendError)
        assert (error.code, error.message) == (code, "vendor words (request_id req-1)")


def test_pcm_of_wav_trusts_the_data_chunk_not_the_streamed_lengths():
    wav = speech("你好", "wav", 16000)
    streamed = wav[:4] + b"\xff\xff\xff\xff" + wav[8:40] + b"\xff\xff\xff\xff" + wav[44:]
    assert pcm_of_wav(streamed) == (wav[44:], 16000, 1, 2)


def test_probe_readiness_treats_any_vendor_answer_but_an_auth_failure_as_ready():
    assert probe_readiness(200, {"output": {"task_status": "UNKNOWN"}}).ready
    assert probe_readiness(400, {"code": "InvalidParameter", "message": "bad id"}).ready
    assert not probe_readiness(401, {"code": "InvalidApiKey", "message": "Invalid API-key provided."}).ready
    assert not probe_readiness(502, {}).ready


# --- text-to-image ---------------------------------------------------------------------------------------


async def test_image_writes_a_png_of_the_request_size_from_an_async_task(double, account, tmp_path):
    out = tmp_path / "k.png"
    await renderer(account).render(keyframe_request(), out)
    with Image.open(out) as img:
        assert (img.format, img.size) == ("PNG", (320, 180))
    [sent] = double.submissions
    assert sent["headers"]["x-dashscope-async"] == "enable"
    assert sent["headers"]["authorization"] == f"Bearer {KEY}"
    assert sent["body"]["input"]["prompt"] == "水彩风格，海边灯塔下的老人，黄昏逆光"
    assert sent["body"]["input"]["negative_prompt"]
    assert sent["body"]["parameters"] == {"size": "912*512", "n": 1, "seed": 4242, "prompt_extend": False,
                                          "watermark": False}


async def test_double_rejects_an_async_task_without_the_async_header(double, account):
    body = {"model": "wan2.2-t2i-flash", "input": {"prompt": "p"}, "parameters": {"size": "1024*1024", "n": 1}}
    url = f"{account.BASE_HTTP_URL}/services/aigc/text2image/image-synthesis"
    rsp = httpx.post(url, json=body, headers={"Authorization": f"Bearer {KEY}"})
    assert rsp.status_code == 403
    assert rsp.json()["code"] == "AccessDenied"
    assert "does not support synchronous calls" in rsp.json()["message"]
    assert not double.tasks


async def test_image_throttling_429_is_retried_then_succeeds(double, account, tmp_path):
    double.throttle_next = 1
    await renderer(account, RETRIES=2).render(keyframe_request(), tmp_path / "k.png")
    assert len(double.submissions) == 2
    assert image_facts(tmp_path / "k.png")[1] == (320, 180)


async def test_image_throttled_polls_are_polled_through_without_a_new_task(double, account, tmp_path):
    double.throttle_polls = 2
    await renderer(account, RETRIES=0).render(keyframe_request(), tmp_path / "k.png")
    assert len(double.submissions) == 1
    assert (tmp_path / "k.png").exists()


async def test_image_data_inspection_failure_is_terminal_with_the_vendor_message_and_not_retried(
        double, account, tmp_path):
    double.fail_next = ("DataInspectionFailed", "Input data may contain inappropriate content.")
    with pytest.raises(TerminalBackendError) as info:
        await renderer(account, RETRIES=2).render(keyframe_request(), tmp_path / "k.png")
    assert info.value.code == "DataInspectionFailed"
    assert info.value.message == "Input data may contain inappropriate content."
    assert len(double.submissions) == 1
    assert not (tmp_path / "k.png").exists()


async def test_image_task_stuck_running_times_out(double, account, tmp_path):
    double.hang = True
    with pytest.raises(TransientBackendError) as info:
        await renderer(account, RETRIES=0, TASK_TIMEOUT_S=0.3).render(keyframe_request(), tmp_path / "k.png")
    assert info.value.code == "task_timeout"
    assert "still RUNNING" in info.value.message
    assert not double.cancelled  # only PENDING tasks can be cancelled


async def test_image_task_stuck_pending_is_cancelled_when_it_times_out(double, account, tmp_path):
    double.hang, double.hang_status = True, "PENDING"
    with pytest.raises(TransientBackendError, match="still PENDING"):
        await renderer(account, RETRIES=0, TASK_TIMEOUT_S=0.3).render(keyframe_request(), tmp_path / "k.png")
    assert double.cancelled == list(double.tasks)


async def test_image_result_is_downloaded_before_its_short_lived_url_expires(double, account, tmp_path):
    double.url_ttl_s = 0.5
    await renderer(account).render(keyframe_request(), tmp_path / "k.png")
    [task] = double.tasks.values()
    expires = int(httpx.URL(task.url).params["Expires"])
    time.sleep(max(expires - time.time(), 0) + 0.1)
    late = httpx.get(task.url)
    assert late.status_code == 403 and "Request has expired" in late.text
    assert image_facts(tmp_path / "k.png")[1] == (320, 180)


async def test_image_refuses_a_result_url_that_is_not_http(double, account, tmp_path):
    double.result_url = "file:///etc/passwd"
    with pytest.raises(TerminalBackendError) as info:
        await renderer(account).render(keyframe_request(), tmp_path / "k.png")
    assert info.value.code == "bad_media_url"
    assert len(double.submissions) == 1


async def test_image_wrong_api_key_is_terminal(double, account, tmp_path):
    wrong = account.model_copy(update={"API_KEY": SecretStr("sk-wrong")})
    with pytest.raises(TerminalBackendError) as info:
        await renderer(wrong, RETRIES=2).render(keyframe_request(), tmp_path / "k.png")
    assert (info.value.code, len(double.submissions)) == ("InvalidApiKey", 1)
    assert "sk-wrong" not in str(info.value)


@pytest.mark.usefixtures("double")
async def test_image_readiness_needs_a_key_the_vendor_accepts(account):
    assert (await renderer(account).ready()).ready
    missing = await renderer(account.model_copy(update={"API_KEY": None})).ready()
    assert (missing.ready, missing.detail) == (False, "DASHSCOPE_API_KEY is not set")
    wrong = await renderer(account.model_copy(update={"API_KEY": SecretStr("sk-wrong")})).ready()
    assert not wrong.ready and "InvalidApiKey" in wrong.detail
    down = await renderer(account.model_copy(update={"BASE_HTTP_URL": "http://127.0.0.1:9/api/v1"})).ready()
    assert not down.ready and "unreachable" in down.detail


# --- image-to-video --------------------------------------------------------------------------------------


async def test_video_writes_an_mp4_of_the_requested_length_and_size(double, account, keyframe, tmp_path):
    out = tmp_path / "clip.mp4"
    await animator(account).animate(clip_request(keyframe), out)
    info = probe(out)
    video = stream(info, "video")
    assert (video["codec_name"], video["width"], video["height"], video["r_frame_rate"]) == ("h264", 320, 180, "12/1")
    assert float(info["format"]["duration"]) == pytest.approx(3.2, abs=0.1)
    assert not [s for s in info["streams"] if s["codec_type"] == "audio"]  # wan2.5 adds sound; the clip has none
    [sent] = double.submissions
    assert sent["headers"]["x-dashscope-async"] == "enable"
    assert sent["body"]["input"]["prompt"] == "老人抬头望向灯塔"
    assert sent["body"]["parameters"] == {"duration": 5, "seed": 7, "prompt_extend": False, "watermark": False,
                                          "resolution": "480P"}
    img_url = sent["body"]["input"]["img_url"]
    assert img_url.startswith("data:image/png;base64,")
    # the 320×180 keyframe went up scaled to the vendor's 360 px minimum side
    assert image_facts(io.BytesIO(base64.b64decode(img_url.split(",", 1)[1])))[1] == (640, 360)


async def test_video_holds_the_last_frame_when_the_model_renders_shorter_clips(double, account, keyframe, tmp_path):
    out = tmp_path / "clip.mp4"
    await animator(account, MODEL="wanx2.1-i2v-turbo").animate(clip_request(keyframe, duration=6.0), out)
    assert float(probe(out)["format"]["duration"]) == pytest.approx(6.0, abs=0.1)
    assert double.submissions[0]["body"]["parameters"]["duration"] == 5


async def test_video_throttling_429_is_retried_then_succeeds(double, account, keyframe, tmp_path):
    double.throttle_next = 2
    out = tmp_path / "clip.mp4"
    await animator(account, MODEL="wanx2.1-i2v-turbo", RETRIES=2).animate(clip_request(keyframe, duration=2.5), out)
    assert len(double.submissions) == 3
    assert double.submissions[-1]["body"]["parameters"]["duration"] == 3
    assert float(probe(out)["format"]["duration"]) == pytest.approx(2.5, abs=0.1)


async def test_video_data_inspection_failure_is_terminal_and_not_retried(double, account, keyframe, tmp_path):
    double.fail_next = ("DataInspectionFailed", "Output data may contain inappropriate content.")
    with pytest.raises(TerminalBackendError) as info:
        await animator(account, RETRIES=2).animate(clip_request(keyframe), tmp_path / "clip.mp4")
    assert (info.value.code, info.value.message) == ("DataInspectionFailed",
                                                      "Output data may contain inappropriate content.")
    assert len(double.submissions) == 1


async def test_video_task_stuck_running_times_out(double, account, keyframe, tmp_path):
    double.hang = True
    with pytest.raises(TransientBackendError) as info:
        await animator(account, RETRIES=0, TASK_TIMEOUT_S=0.3).animate(clip_request(keyframe), tmp_path / "c.mp4")
    assert info.value.code == "task_timeout"


async def test_video_can_pass_the_keyframe_as_a_url_from_our_object_store(double, account, keyframe, tmp_path):
    store = LocalObjectStore(tmp_path / "media", "https://cdn.example.com")
    out = tmp_path / "clip.mp4"
    await animator(account, IMAGE_INPUT="url", MODEL="wanx2.1-i2v-turbo", store=store).animate(
        clip_request(keyframe, duration=3.0), out)
    img_url = double.submissions[0]["body"]["input"]["img_url"]
    key = img_url.removeprefix("https://cdn.example.com/media/")
    assert key.startswith("dashscope/i2v-inputs/") and key.endswith(".png")
    assert (tmp_path / "media" / key).read_bytes() == keyframe.read_bytes()
    assert float(probe(out)["format"]["duration"]) == pytest.approx(3.0, abs=0.1)


async def test_video_long_prompt_is_cut_at_the_models_own_limit_and_the_double_cuts_too(double, account, keyframe,
                                                                                     tmp_path):
    prompt = "老人抬头望向灯塔。" * 170  # 1530 characters: over 800, within wan2.5's 2000
    request = clip_request(keyframe, prompts={"zh": prompt})
    await animator(account).animate(request, tmp_path / "a.mp4")
    await animator(account, MODEL="wanx2.1-i2v-turbo").animate(request, tmp_path / "b.mp4")
    wan25, wanx21 = (sub["body"]["input"]["prompt"] for sub in double.submissions)
    assert (len(wan25), len(wanx21)) == (1530, 800)
    over = {"model": "wanx2.1-i2v-turbo", "input": {"prompt": prompt, "img_url": "https://x/y.png"},
            "parameters": {"resolution": "480P", "duration": 5}}
    assert check_i2v(over) is None  # the vendor cuts a long prompt; it does not refuse it


async def test_video_singapore_names_the_wan21_models_wan21(double, account, keyframe, tmp_path):
    double.region = "ap-southeast-1"
    singapore = account.model_copy(update={"REGION": "ap-southeast-1"})
    await animator(singapore, MODEL="wan2.1-i2v-turbo").animate(clip_request(keyframe, duration=2.5),
                                                               tmp_path / "c.mp4")
    assert double.submissions[-1]["body"]["parameters"]["duration"] == 3
    with pytest.raises(ConfigurationError, match="wan2.1-i2v-plus renders 720P"):
        animator(singapore, MODEL="wan2.1-i2v-plus", RESOLUTION="480P")
    assert check_i2v({**double.submissions[-1]["body"], "model": "wanx2.1-i2v-turbo"}, "ap-southeast-1")


def test_video_resolution_the_model_does_not_render_is_refused_at_creation(account):
    with pytest.raises(ConfigurationError, match="wanx2.1-i2v-plus renders 720P"):
        animator(account, MODEL="wanx2.1-i2v-plus", RESOLUTION="480P")


@pytest.mark.usefixtures("double")
async def test_video_readiness_needs_a_key_the_vendor_accepts(account):
    assert (await animator(account).ready()).ready
    assert not (await animator(account.model_copy(update={"API_KEY": SecretStr("sk-wrong")})).ready()).ready


# --- CosyVoice TTS ---------------------------------------------------------------------------------------


def wav_info(path: Path) -> tuple[int, int, int, float]:
    with wave.open(str(path), "rb") as wav:
        return wav.getnchannels(), wav.getsampwidth(), wav.getframerate(), wav.getnframes() / wav.getframerate()


async def test_tts_writes_a_wav_and_returns_its_duration(double, account, tmp_path):
    out = tmp_path / "n.wav"
    duration = await speaker(account).synthesize(SpeechRequest(text="海边的灯塔亮了", speed=1.2), out)
    assert wav_info(out) == (1, 2, 24000, pytest.approx(duration))
    assert duration == pytest.approx(0.2 * 7, abs=0.01)
    [run] = double.tts_runs
    assert run["headers"]["authorization"] == f"Bearer {KEY}"
    assert run["run_task"]["header"]["action"] == "run-task"
    params = run["run_task"]["payload"]["parameters"]
    assert (run["run_task"]["payload"]["model"], params["voice"], params["format"], params["sample_rate"],
            params["rate"]) == ("cosyvoice-v2", "longxiaochun_v2", "wav", 24000, 1.2)
    assert run["texts"] == ["海边的灯塔亮了"]


@pytest.mark.usefixtures("double")
async def test_tts_never_pads_short_narration(account, tmp_path):
    duration = await speaker(account).synthesize(SpeechRequest(text="好"), tmp_path / "n.wav")
    assert duration == pytest.approx(0.2, abs=0.01)


@pytest.mark.parametrize("fmt", ["pcm", "mp3"])
async def test_tts_pcm_and_mp3_come_back_as_wav(double, account, tmp_path, fmt):
    out = tmp_path / "n.wav"
    duration = await speaker(account, FORMAT=fmt, SAMPLE_RATE=22050).synthesize(SpeechRequest(text="你好世界"), out)
    channels, width, rate, seconds = wav_info(out)
    assert (channels, width, rate) == (1, 2, 22050)
    assert seconds == pytest.approx(duration) and duration == pytest.approx(0.8, abs=0.1)
    assert double.tts_runs[0]["run_task"]["payload"]["parameters"]["format"] == fmt


async def test_tts_throttling_is_retried_then_succeeds(double, account, tmp_path):
    double.tts_throttle_next = 1
    assert await speaker(account, RETRIES=2).synthesize(SpeechRequest(text="你好"), tmp_path / "n.wav") > 0
    assert len(double.tts_runs) == 2


async def test_tts_task_failed_is_terminal_with_the_vendor_message_and_not_retried(double, account, tmp_path):
    double.tts_fail = ("InvalidParameter", "text contains unsupported characters")
    with pytest.raises(TerminalBackendError) as info:
        await speaker(account, RETRIES=2).synthesize(SpeechRequest(text="你好"), tmp_path / "n.wav")
    assert info.value.code == "InvalidParameter"
    assert "text contains unsupported characters" in info.value.message
    assert len(double.tts_runs) == 1
    assert not (tmp_path / "n.wav").exists()


async def test_tts_hang_after_task_started_times_out(double, account, tmp_path):
    double.tts_hang = True
    with pytest.raises(TransientBackendError) as info:
        await speaker(account, RETRIES=0, TIMEOUT_S=0.5).synthesize(SpeechRequest(text="你好"), tmp_path / "n.wav")
    assert info.value.code == "timeout"


async def test_tts_in_singapore_defaults_to_a_model_singapore_offers(double, account, tmp_path):
    double.region = "ap-southeast-1"  # cosyvoice-v2 is not offered there
    singapore = account.model_copy(update={"REGION": "ap-southeast-1"})
    assert await speaker(singapore).synthesize(SpeechRequest(text="灯塔"), tmp_path / "n.wav") > 0
    params = double.tts_runs[0]["run_task"]["payload"]
    assert (params["model"], params["parameters"]["voice"]) == ("cosyvoice-v3-flash", "longanyang")


@pytest.mark.parametrize(("region", "model", "words"), [
    ("ap-southeast-1", "cosyvoice-v2", "not offered in ap-southeast-1"),
    ("ap-southeast-1", "cosyvoice-v3.5-plus", "not offered in ap-southeast-1"),
    ("cn-beijing", "cosyvoice-v1", "not offered in cn-beijing"),
])
def test_tts_model_the_region_does_not_offer_is_refused_at_creation(account, region, model, words):
    with pytest.raises(ConfigurationError, match=words):
        speaker(account.model_copy(update={"REGION": region}), MODEL=model)


async def test_double_fails_a_tts_task_whose_model_its_region_does_not_offer(double, account, tmp_path):
    double.region = "ap-southeast-1"
    with pytest.raises(TerminalBackendError) as info:  # a Beijing-configured speaker talking to Singapore
        await speaker(account, RETRIES=0).synthesize(SpeechRequest(text="你好"), tmp_path / "n.wav")
    assert info.value.code == "ModelNotFound"


async def test_tts_v35_models_speak_the_voices_made_for_them(double, account, tmp_path):
    voice = "cosyvoice-v3.5-plus-narrator-0a1b2c3d"
    out = tmp_path / "n.wav"
    assert await speaker(account, MODEL="cosyvoice-v3.5-plus", VOICE=voice).synthesize(SpeechRequest(text="你好"),
                                                                                       out) > 0
    assert double.tts_runs[0]["run_task"]["payload"]["model"] == "cosyvoice-v3.5-plus"
    with pytest.raises(ConfigurationError, match="has no system voice"):
        speaker(account, MODEL="cosyvoice-v3.5-flash")


async def test_tts_text_with_markup_characters_is_spoken_as_plain_text(double, account, tmp_path):
    text = "A&B <3 的小船"
    assert await speaker(account).synthesize(SpeechRequest(text=text), tmp_path / "n.wav") > 0
    [run] = double.tts_runs
    assert run["texts"] == [text] and not run["run_task"]["payload"]["parameters"].get("enable_ssml")


@pytest.mark.usefixtures("double")
def test_double_reads_enable_ssml_text_as_markup_and_takes_any_uuid_task_id(account):
    def run(text: str, task_id: str, ssml: bool) -> list[str]:
        start = {"header": {"action": "run-task", "task_id": task_id, "streaming": "duplex"},
                 "payload": {"model": "cosyvoice-v2", "task_group": "audio", "task": "tts",
                             "function": "SpeechSynthesizer", "input": {},
                             "parameters": {"voice": "longxiaochun_v2", "format": "wav", "sample_rate": 24000,
                                            **({"enable_ssml": True} if ssml else {})}}}
        events = []
        with connect(account.BASE_WS_URL, additional_headers={"Authorization": f"Bearer {KEY}"}) as ws:
            ws.send(json.dumps(start))
            events.append(json.loads(ws.recv(timeout=5))["header"]["event"])
            for action, payload in (("continue-task", {"input": {"text": text}}), ("finish-task", {"input": {}})):
                ws.send(json.dumps({"header": {"action": action, "task_id": task_id, "streaming": "duplex"},
                                    "payload": payload}))
            while events[-1] not in ("task-finished", "task-failed"):
                message = ws.recv(timeout=5)
                if isinstance(message, str):
                    events.append(json.loads(message)["header"]["event"])
        return events

    dashed = str(uuid.uuid4())
    assert run("A&B <3", dashed, ssml=False)[-1] == "task-finished"
    assert run("A&B <3", uuid.uuid4().hex, ssml=True)[-1] == "task-failed"
    assert run('<speak>你好<break time="1s"/></speak>', dashed, ssml=True)[-1] == "task-finished"


def test_tts_voice_of_another_generation_is_refused_at_creation(account):
    with pytest.raises(ConfigurationError, match="cosyvoice-v2 speaks only v2 voices"):
        speaker(account, MODEL="cosyvoice-v2", VOICE="longxiaochun")
    with pytest.raises(ConfigurationError, match="SAMPLE_RATE"):
        speaker(account, SAMPLE_RATE=12345)


async def test_tts_request_voice_of_another_generation_is_refused_without_a_call(double, account, tmp_path):
    with pytest.raises(TerminalBackendError) as info:
        await speaker(account).synthesize(SpeechRequest(text="你好", voice="longwan"), tmp_path / "n.wav")
    assert info.value.code == "voice_mismatch"
    assert not double.tts_runs


@pytest.mark.usefixtures("double")
def test_double_answers_a_mismatched_voice_with_the_vendors_opaque_418(account):
    run = {"header": {"action": "run-task", "task_id": "0" * 32, "streaming": "duplex"},
           "payload": {"model": "cosyvoice-v2", "task_group": "audio", "task": "tts", "function": "SpeechSynthesizer",
                       "input": {}, "parameters": {"voice": "longxiaochun", "format": "wav", "sample_rate": 24000}}}
    with connect(account.BASE_WS_URL, additional_headers={"Authorization": f"Bearer {KEY}"}) as ws:
        ws.send(json.dumps(run))
        header = json.loads(ws.recv(timeout=5))["header"]
    assert (header["event"], header["error_code"]) == ("task-failed", "InvalidParameter")
    assert "418" in header["error_message"]


@pytest.mark.usefixtures("double")
def test_double_refuses_the_websocket_handshake_without_the_right_key(account):
    with pytest.raises(InvalidStatus) as info:
        connect(account.BASE_WS_URL, additional_headers={"Authorization": "Bearer sk-wrong"})
    assert info.value.response.status_code == 401


@pytest.mark.usefixtures("double")
async def test_tts_readiness_needs_a_key_the_vendor_accepts(account):
    assert (await speaker(account).ready()).ready
    assert not (await speaker(account.model_copy(update={"API_KEY": None})).ready()).ready


# --- registry --------------------------------------------------------------------------------------------


def test_registry_builds_the_three_backends_from_the_environment(monkeypatch, served):
    monkeypatch.setenv("DASHSCOPE_API_KEY", KEY)
    monkeypatch.setenv("DASHSCOPE_BASE_HTTP_URL", f"{served[1]}/api/v1")
    monkeypatch.setenv("DASHSCOPE_T2I_MODEL", "wanx-v1")
    monkeypatch.setenv("DASHSCOPE_I2V_MODEL", "wanx2.1-i2v-turbo")
    monkeypatch.setenv("DASHSCOPE_TTS_VOICE", "longwan_v2")
    settings = Settings()
    image, video, tts = (build(stage, "dashscope", settings) for stage in ("keyframe", "clip", "narration"))
    assert (image.settings.MODEL, video.settings.MODEL, tts.settings.VOICE) == ("wanx-v1", "wanx2.1-i2v-turbo",
                                                                                "longwan_v2")
    assert image.client.settings.API_KEY.get_secret_value() == KEY
    monkeypatch.setenv("DASHSCOPE_TTS_VOICE", "longwan")
    with pytest.raises(ConfigurationError, match="v2 voices"):
        build("narration", "dashscope", Settings())
