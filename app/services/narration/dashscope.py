"""Narration from DashScope CosyVoice through the SDK's `tts_v2.SpeechSynthesizer` (a duplex WebSocket task:
run-task → task-started → continue-task → finish-task → binary audio frames → task-finished).

The audio is written as a 16-bit mono WAV of exactly what was spoken: it is never padded, because the clips are
fitted to the narration, not the other way round.

Models differ by region [doc: alibabacloud.com/help/en/model-studio/text-to-speech, "Supported models"]: Singapore
(ap-southeast-1) offers cosyvoice-v3-plus and cosyvoice-v3-flash; Beijing (cn-beijing) those, cosyvoice-v2 and
cosyvoice-v3.5-plus/-flash (v3.5: cloned or designed voices only, no system voices [doc: …/ssml-latex-user-guide]);
cosyvoice-v1 is offered nowhere any more. The model (default: the region's) and its voice are checked when the
backend is built. The text is sent as plain text with `streaming_call`: the SDK's `call()` always adds
`enable_ssml: true`, under which DashScope reads the text as SSML markup (a narration with `<` or `&` is then
markup, not words) and which only some models and voices take.
"""

from __future__ import annotations

import asyncio
import json
import re
import struct
import threading
import uuid
import wave
from collections.abc import Callable
from pathlib import Path
from typing import Any

import dashscope
from dashscope.audio.tts_v2 import AudioFormat, ResultCallback, SpeechSynthesizer

from app.core.errors import BackendError, ConfigurationError, FFmpegError, TerminalBackendError, TransientBackendError
from app.core.settings import Settings
from app.core.settings.dashscope import DashScopeSettings, DashScopeSpeechSettings
from app.services.backend import PolicedCaller, Readiness, binary_readiness
from app.services.dashscope_common import DashScopeClient, sdk_error, vendor_error
from app.services.ffmpeg import run_ffmpeg
from app.services.narration.base import SpeechRequest

BACKEND = "dashscope-tts"
_KEY_LOCK = threading.Lock()
#: The CosyVoice models each region offers, its default first [doc: Model Studio "Speech synthesis", "Supported
#: models"]. A region not listed here (e.g. us-east-1) is not checked.
REGION_MODELS = {
    "cn-beijing": ("cosyvoice-v2", "cosyvoice-v3-flash", "cosyvoice-v3-plus", "cosyvoice-v3.5-flash",
                   "cosyvoice-v3.5-plus"),
    "ap-southeast-1": ("cosyvoice-v3-flash", "cosyvoice-v3-plus"),
}
#: The model used when DASHSCOPE_TTS_MODEL is empty in a region without a table above.
FALLBACK_MODEL = "cosyvoice-v3-flash"
#: A system voice per generation, used when DASHSCOPE_TTS_VOICE is empty (v3.5 has none: a voice must be set).
DEFAULT_VOICES = {"2": "longxiaochun_v2", "3": "longanyang"}


# --- pure ------------------------------------------------------------------------------------------------


def model_generation(model: str) -> str | None:
    """"2" for cosyvoice-v2, "3" for cosyvoice-v3-flash, "3.5" for cosyvoice-v3.5-plus …; None for a name that is
    no CosyVoice model."""
    match = re.fullmatch(r"cosyvoice-v(\d+(?:\.\d+)?)(?:-[a-z0-9]+)*", model)
    return match.group(1) if match else None


def voice_generation(voice: str) -> str | None:
    """The generation a voice is marked for: `_v2` suffix (longxiaochun_v2) or a cloned/designed
    `cosyvoice-v2-…` / `cosyvoice-v3.5-plus-…` id."""
    match = re.search(r"_v(\d+)$", voice) or re.match(r"cosyvoice-v(\d+(?:\.\d+)?)-", voice)
    return match.group(1) if match else None


def voice_mismatch(model: str, voice: str) -> str | None:
    """Why `voice` cannot speak with `model`, or None when the pair fits."""
    generation = model_generation(model)
    if generation is None:
        return f"{model!r} is not a CosyVoice model (cosyvoice-v2, cosyvoice-v3-flash, cosyvoice-v3.5-plus, …)"
    marked = voice_generation(voice)
    if not voice.strip():
        return "no voice is set"
    if generation == "1" and marked is not None:
        return f"cosyvoice-v1 speaks the unsuffixed voices (e.g. longxiaochun), not {voice!r}"
    if generation == "2" and marked != "2":
        return f"cosyvoice-v2 speaks only v2 voices (e.g. longxiaochun_v2), not {voice!r}"
    if generation == "3.5" and marked != "3.5":
        return f"{model} has no system voices: it speaks voices cloned or designed for it (cosyvoice-v3.5-…), " \
               f"not {voice!r}"
    if marked is not None and marked != generation:
        return f"{model} cannot speak the v{marked} voice {voice!r}"
    return None


def region_model(region: str, model: str) -> str:
    """The model to use in `region` (MODEL, or the region's default); ConfigurationError when the region does not
    offer it."""
    offered = REGION_MODELS.get(region)
    chosen = model.strip() or (offered[0] if offered else FALLBACK_MODEL)
    if offered is not None and chosen not in offered:
        raise ConfigurationError(f"DASHSCOPE_TTS_MODEL={chosen!r} is not offered in {region} (DASHSCOPE_REGION / "
                                 f"BASE_HTTP_URL); it offers {', '.join(offered)}")
    return chosen


def default_voice(model: str) -> str:
    """The model's default system voice; ConfigurationError for a model without one (v3.5)."""
    voice = DEFAULT_VOICES.get(model_generation(model) or "")
    if voice is None:
        raise ConfigurationError(f"{model} has no system voice: set DASHSCOPE_TTS_VOICE to a voice cloned or "
                                 "designed for it")
    return voice


def audio_format(fmt: str, sample_rate: int) -> AudioFormat:
    """The SDK's AudioFormat member for a format and sample rate; ValueError when there is none."""
    for member in AudioFormat:
        if member.format == fmt and member.sample_rate == sample_rate:
            return member
    rates = sorted({m.sample_rate for m in AudioFormat if m.format == fmt})
    raise ValueError(f"{fmt} is offered at {', '.join(map(str, rates))} Hz, not {sample_rate}")


def pcm_of_wav(data: bytes) -> tuple[bytes, int, int, int]:
    """(PCM, sample rate, channels, sample width) of a streamed WAV. Everything after the `data` chunk header is
    taken as audio: a header written before the audio was known cannot be trusted with the lengths."""
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise ValueError("not a RIFF/WAVE stream")
    pos, fmt = 12, None
    while pos + 8 <= len(data):
        chunk, size = data[pos:pos + 4], struct.unpack("<I", data[pos + 4:pos + 8])[0]
        if chunk == b"fmt ":
            tag, channels, rate, _, _, bits = struct.unpack("<HHIIHH", data[pos + 8:pos + 24])
            if tag != 1:
                raise ValueError(f"WAV is not PCM (format tag {tag})")
            fmt = (rate, channels, bits // 8)
        elif chunk == b"data":
            if fmt is None:
                raise ValueError("WAV data before its fmt chunk")
            return data[pos + 8:], *fmt
        pos += 8 + size + (size & 1)
    raise ValueError("WAV without a data chunk")


def write_wav(path: Path, pcm: bytes, *, rate: int, channels: int = 1, width: int = 2) -> float:
    """Write PCM as a WAV file; return its duration in seconds."""
    frame = channels * width
    pcm = pcm[: len(pcm) - len(pcm) % frame]
    with wave.open(str(path), "wb") as out:
        out.setnchannels(channels)
        out.setsampwidth(width)
        out.setframerate(rate)
        out.writeframes(pcm)
    return len(pcm) / frame / rate


def speech_rate(speed: float) -> float:
    """The SDK's speech_rate for a speed factor, within the accepted 0.5–2.0."""
    return min(max(speed, 0.5), 2.0)


# --- I/O -------------------------------------------------------------------------------------------------


def new_synthesizer(api_key: str, **kwargs: Any) -> SpeechSynthesizer:
    """A SpeechSynthesizer using `api_key`. tts_v2 takes its key only from the module global `dashscope.api_key`,
    read once at construction: it is set for that moment under a lock and then put back, so other SDK users in
    this process (the Qwen backend passes its key per call) see no change."""
    with _KEY_LOCK:
        previous = dashscope.api_key
        dashscope.api_key = api_key
        try:
            return SpeechSynthesizer(**kwargs)
        finally:
            dashscope.api_key = previous


class CollectAudio(ResultCallback):
    """The SDK callback of one task: the audio frames, and the task-failed event if there is one."""

    def __init__(self) -> None:
        self.audio = bytearray()
        self.failure: str | None = None

    def on_data(self, data: bytes) -> None:
        self.audio += data

    def on_error(self, message: object) -> None:
        self.failure = str(message)

    def error(self) -> BackendError | None:
        """The task-failed event as our error (its `error_code` and `error_message`), or None."""
        if self.failure is None:
            return None
        try:
            header = json.loads(self.failure).get("header", {})
        except (ValueError, AttributeError):
            header = {}
        return vendor_error(BACKEND, 0, header.get("error_code") or "task_failed",
                            header.get("error_message") or self.failure[:300], header.get("task_id"))


class DashScopeSpeaker:
    """Speaker over DashScope CosyVoice; the region's model and its voice are checked when the backend is built."""

    def __init__(self, account: DashScopeSettings, settings: DashScopeSpeechSettings):
        model = region_model(account.region(), settings.MODEL)
        settings = settings.model_copy(update={"MODEL": model, "VOICE": settings.VOICE.strip() or default_voice(model)})
        problem = voice_mismatch(settings.MODEL, settings.VOICE)
        if problem:
            raise ConfigurationError(f"DASHSCOPE_TTS_MODEL/VOICE: {problem}")
        try:
            self.format = audio_format(settings.FORMAT, settings.SAMPLE_RATE)
        except ValueError as exc:
            raise ConfigurationError(f"DASHSCOPE_TTS_FORMAT/SAMPLE_RATE: {exc}") from exc
        self.account, self.settings = account, settings
        self.client = DashScopeClient(BACKEND, account)
        self._call = PolicedCaller(BACKEND, settings.policy())

    async def synthesize(self, request: SpeechRequest, out_path: Path) -> float:
        """Write the spoken `request.text` to `out_path` as a WAV; return its duration in seconds.

        Raises:
            TransientBackendError: throttled, unreachable, or no audio within TIMEOUT_S.
            TerminalBackendError: task-failed (e.g. InvalidParameter), or request.voice does not fit the model.
        """
        text = request.text.strip()
        if not text:
            raise TerminalBackendError(BACKEND, "empty_text", "cannot synthesize empty text")
        voice = request.voice or self.settings.VOICE
        if problem := voice_mismatch(self.settings.MODEL, voice):
            raise TerminalBackendError(BACKEND, "voice_mismatch", problem)
        return await self._call(lambda: self._synthesize(text, voice, request.speed, out_path))

    async def _synthesize(self, text: str, voice: str, speed: float, out_path: Path) -> float:
        api_key = self.client.api_key()
        try:
            audio = await asyncio.to_thread(self._speak, api_key, text, voice, speed)
        except BackendError:
            raise
        except Exception as exc:
            raise sdk_error(BACKEND, exc) from exc
        out_path.parent.mkdir(parents=True, exist_ok=True)
        tmp = out_path.with_name(f".{out_path.name}.{uuid.uuid4().hex}.tmp.wav")
        try:
            duration = await self._to_wav(audio, tmp)
            if duration <= 0:
                raise TransientBackendError(BACKEND, "no_audio", "the task finished without audio")
            tmp.replace(out_path)
        finally:
            tmp.unlink(missing_ok=True)
        return duration

    def _speak(self, api_key: str, text: str, voice: str, speed: float) -> bytes:
        """One task, the text sent once as plain text (`streaming_call`, not `call`, which adds enable_ssml)."""
        collect = CollectAudio()
        synth = new_synthesizer(
            api_key, model=self.settings.MODEL, voice=voice, format=self.format, volume=self.settings.VOLUME,
            speech_rate=speech_rate(speed), url=self.account.BASE_WS_URL, workspace=self.account.WORKSPACE or None,
            callback=collect,
        )
        complete: Callable[[int], None] = synth.streaming_complete  # the SDK method is unannotated
        synth.streaming_call(text)
        complete(int(self.settings.TIMEOUT_S * 1000))
        if (error := collect.error()) is not None:
            raise error
        return bytes(collect.audio)

    async def _to_wav(self, audio: bytes, path: Path) -> float:
        fmt = self.settings.FORMAT
        if not audio:
            return 0.0
        try:
            if fmt == "pcm":
                return write_wav(path, audio, rate=self.settings.SAMPLE_RATE)
            if fmt == "wav":
                pcm, rate, channels, width = pcm_of_wav(audio)
                return write_wav(path, pcm, rate=rate, channels=channels, width=width)
            return await self._mp3_to_wav(audio, path)
        except (ValueError, wave.Error, struct.error) as exc:
            raise TerminalBackendError(BACKEND, "bad_audio", f"unusable {fmt} audio: {exc}") from exc

    async def _mp3_to_wav(self, audio: bytes, path: Path) -> float:
        mp3 = path.with_suffix(".mp3")
        try:
            mp3.write_bytes(audio)
            await run_ffmpeg(["-i", str(mp3), "-ac", "1", "-ar", str(self.settings.SAMPLE_RATE),
                              "-c:a", "pcm_s16le", "-f", "wav", str(path)], timeout_s=60)
        except FFmpegError as exc:
            raise ValueError(exc.stderr_tail[-300:]) from exc
        finally:
            mp3.unlink(missing_ok=True)
        with wave.open(str(path), "rb") as wav:
            return wav.getnframes() / wav.getframerate()

    async def ready(self) -> Readiness:
        """Ready when the API key is set and DashScope answers with it (and ffmpeg is there for mp3)."""
        if self.settings.FORMAT == "mp3" and not (ffmpeg := binary_readiness("ffmpeg")).ready:
            return ffmpeg
        return await self.client.ready()

    async def aclose(self) -> None:
        """Close the account client (the SDK synthesizer is made per call and manages its own WebSocket)."""
        await self.client.aclose()


def create(settings: Settings) -> DashScopeSpeaker:
    """The DashScope speech backend, configured from DASHSCOPE_* and DASHSCOPE_TTS_* variables."""
    return DashScopeSpeaker(settings.dashscope, settings.dashscope_speech)
