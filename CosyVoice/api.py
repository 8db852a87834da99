"""CosyVoice TTS server: text + speaker (+ speed, instruct) in, ONE WAV of the whole text out.

This file stands alone (no imports from ``app/``): it is deployed on GPU machines with its own requirements.

Shared contract of the three GPU servers (HunyuanVideo-1.5/api.py, CosyVoice/api.py, video_enhance/video_api):

- Errors: every 4xx/5xx answer is {"code", "message", "request_id", "details"?}, with an X-Request-Id header
  (the caller's X-Request-Id when well-formed): 422 invalid_request (details.errors: [{field, problem}]) or a
  precise code, 404 not_found / job_not_found, 405 method_not_allowed, 409 job_not_finished / job_failed,
  429 queue_full with Retry-After, 503 model_loading / model_unavailable, 500 internal_error. Exception text
  never reaches a client; it is logged under the request id.
- Queue: one GPU job at a time; at most queue.capacity wait behind it; one more gets 429 + Retry-After.
- Jobs (long work): POST /v1/jobs -> 202 with the job; GET /v1/jobs/{job_id} -> {job_id, status:
  queued|running|succeeded|failed, queue_position (1 = next to run; null unless queued), progress: {step,
  total}|null, error: {code, message}|null, created_at, started_at, finished_at (epoch seconds), result:
  {url, ...}|null, ...}. Finished jobs expire after a TTL (then 404 job_not_found).
- GET /health -> {status: ok|loading|error, server, version, model: {name, loaded, ...}|null, device,
  gpu: {name, total_mib, free_mib, allocated_mib, reserved_mib, peak_allocated_mib}|null,
  queue: {running, waiting, capacity}, error: {code, message}|null, ...server extras}; HTTP 200 when
  status is ok, else 503.

Here synthesis is synchronous (no jobs): ``POST /v1/tts`` waits for its turn on the GPU; one runs at a time and at
most ``COSYVOICE_MAX_QUEUE`` wait (more: 429 + Retry-After). The engine loads before the port answers, so /health
is "ok" whenever it answers; extras: ``model.engine``, ``model.sample_rate``, ``model.speakers``.

    python CosyVoice/api.py                      # 127.0.0.1:9233, engine chosen by COSYVOICE_ENGINE (auto)

Engines (one per process, picked at start-up by settings; see CosyVoice/README.md):
  * ``cosyvoice`` - CosyVoice2 / CosyVoice3 loaded with ``AutoModel`` from a FunAudioLLM/CosyVoice checkout
    (``COSYVOICE_REPO_DIR``) and a local model folder (``COSYVOICE_MODEL_DIR``); never downloads.
  * ``espeak``    - espeak-ng, so the server runs on any machine (no GPU, no weights, robotic voice).
  * ``auto``      - ``cosyvoice`` when the model folder exists, else ``espeak`` (logged).

API: ``POST /v1/tts`` ``{text, speaker, speed, instruct?}`` -> ``audio/wav`` (16-bit mono at the engine's own
sample rate, every text segment concatenated); ``GET /v1/speakers``; ``GET /health``. Zero-shot speakers are
registered at start-up from ``<COSYVOICE_SPEAKERS_DIR>/<name>.wav`` + ``<name>.txt`` (the WAV's transcript).
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import io
import logging
import re
import subprocess
import sys
import tempfile
import uuid
import wave
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from http import HTTPStatus
from pathlib import Path
from typing import Any, Literal, Protocol
from urllib.parse import quote

import uvicorn
from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import AliasChoices, BaseModel, ConfigDict, Field
from pydantic_settings import BaseSettings, SettingsConfigDict
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

logger = logging.getLogger("cosyvoice_api")

SERVER = "cosyvoice"
VERSION = "1.1.0"
HERE = Path(__file__).resolve().parent
#: Han ideographs (CJK Unified Ideographs, Extension A, Compatibility).
CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
#: Something a voice can say: a letter, digit or ideograph.
SPEAKABLE = re.compile(r"\w", re.UNICODE)
SPEAKER_ID = re.compile(r"^[\w\u4e00-\u9fff][\w\u4e00-\u9fff.-]{0,63}$")
#: The end-of-instruction marker. CosyVoice2's instruct text ends with it and CosyVoice3's prompt / instruct text
#: carries it after a system prompt (FunAudioLLM/CosyVoice example.py); CosyVoice3's LM asserts it in the text it
#: reads (cosyvoice/llm/llm.py: ``assert 151646 in text``), which on the SFT path is the tts text alone.
V3_PREFIX = "You are a helpful assistant."
END_OF_PROMPT = "<|endofprompt|>"


class Settings(BaseSettings):
    """Server settings from ``COSYVOICE_*`` environment variables."""

    model_config = SettingsConfigDict(env_prefix="COSYVOICE_", extra="ignore", env_ignore_empty=True)

    host: str = "127.0.0.1"
    port: int = 9233
    engine: Literal["auto", "cosyvoice", "espeak"] = "auto"
    repo_dir: Path | None = None  # FunAudioLLM/CosyVoice checkout (with third_party/Matcha-TTS)
    model_dir: Path | None = None  # e.g. <repo>/pretrained_models/CosyVoice2-0.5B
    fp16: bool = False
    load_trt: bool = False
    speakers_dir: Path = HERE / "speakers"
    default_speaker: str = ""
    max_text_chars: int = Field(2000, ge=1)
    max_instruct_chars: int = Field(200, ge=1)
    max_prompt_seconds: float = 30.0
    max_queue: int = Field(8, ge=0)  # requests waiting behind the running one
    retry_after_s: int = Field(5, ge=1)  # Retry-After of a 429 queue_full
    max_body_bytes: int = 64 * 1024
    espeak_binary: str = "espeak-ng"
    espeak_wpm: int = 165
    espeak_wpm_zh: int = 270  # espeak-ng counts each Chinese character as a word
    espeak_timeout_s: float = 120.0
    log_level: str = "INFO"


# ------------------------------------------------------------------------------------------ shared contract (begin)
# Kept identical on purpose in HunyuanVideo-1.5/api.py, CosyVoice/api.py and video_enhance/video_api/contract.py:
# each server is copied alone onto its GPU machine, so this is a copy, not an import.
# tests/test_gpu_server_contract.py checks that the copies match and that the three servers behave alike.

REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
HTTP_ERRORS = {404: ("not_found", "no such endpoint"), 405: ("method_not_allowed", "method not allowed here")}


class ApiError(Exception):
    """An error answer: ``status_code`` with ``{code, message, request_id, details?}`` (and ``headers``)."""

    def __init__(self, status_code: int, code: str, message: str, details: dict[str, Any] | None = None,
                 headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status_code, self.code, self.message = status_code, code, message
        self.details, self.headers = details, headers


def queue_full(capacity: int, retry_after_s: int) -> ApiError:
    """429: the bounded queue has no room; ``Retry-After`` says when to try again."""
    return ApiError(429, "queue_full", f"{capacity} requests are already waiting; retry later",
                    {"capacity": capacity, "retry_after_s": retry_after_s}, {"Retry-After": str(retry_after_s)})


def model_not_ready(failed: bool) -> ApiError:
    """503 while the model loads (``model_loading``) or after it failed to load (``model_unavailable``)."""
    return ApiError(503, "model_unavailable" if failed else "model_loading", "the model is not loaded; see GET /health")


def job_not_found() -> ApiError:
    """404 for an unknown job id (finished jobs expire after the server's TTL)."""
    return ApiError(404, "job_not_found", "no such job (finished jobs expire after a while)")


def result_not_ready(status: str, error: dict[str, str] | None) -> ApiError:
    """409 for a job's result before it succeeded: ``job_not_finished``, or ``job_failed`` with its error."""
    if status == "failed":
        return ApiError(409, "job_failed", "the job failed; it has no result", {"error": error or {}})
    return ApiError(409, "job_not_finished", f"the job is {status}")


def invalid_request(errors: Sequence[Any]) -> ApiError:
    """422 naming each bad field and its problem (pydantic's error list), never echoing the input."""
    items = [{"field": ".".join(str(p) for p in e["loc"] if p not in ("body", "query", "path")), "problem": e["msg"]}
             for e in errors]
    first = items[0] if items else {"field": "", "problem": "invalid request"}
    return ApiError(422, "invalid_request", f"{first['field'] or 'body'}: {first['problem']}", {"errors": items})


def request_id_of(request: Request) -> str:
    """The caller's ``X-Request-Id`` when well-formed, else a new id; fixed for the rest of the request."""
    rid = getattr(request.state, "request_id", None)
    if not rid:
        incoming = request.headers.get("x-request-id", "")
        rid = incoming if REQUEST_ID.match(incoming) else uuid.uuid4().hex
        request.state.request_id = rid
    return rid


def error_response(request: Request, status_code: int, code: str, message: str,
                   details: dict[str, Any] | None = None, headers: dict[str, str] | None = None) -> JSONResponse:
    """The one error body, ``{code, message, request_id, details?}``, with the ``X-Request-Id`` header."""
    rid = request_id_of(request)
    body: dict[str, Any] = {"code": code, "message": message, "request_id": rid}
    if details:
        body["details"] = details
    return JSONResponse(body, status_code=status_code, headers={**(headers or {}), "X-Request-Id": rid})


def install_contract(app: FastAPI) -> None:
    """Tag every answer with ``X-Request-Id`` and answer every error (routing, validation, crash) as the shared body."""

    @app.middleware("http")
    async def tag_request_id(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        rid = request_id_of(request)
        response = await call_next(request)
        response.headers["X-Request-Id"] = rid
        return response

    @app.exception_handler(ApiError)
    async def on_api_error(request: Request, exc: ApiError) -> JSONResponse:
        return error_response(request, exc.status_code, exc.code, exc.message, exc.details, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def on_invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        return await on_api_error(request, invalid_request(exc.errors()))

    @app.exception_handler(StarletteHTTPException)
    async def on_http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code, message = HTTP_ERRORS.get(exc.status_code, ("http_error", HTTPStatus(exc.status_code).phrase))
        return error_response(request, exc.status_code, code, message, headers=exc.headers)

    @app.exception_handler(Exception)
    async def on_unexpected(request: Request, exc: Exception) -> JSONResponse:
        logger.error("request %s failed", request_id_of(request), exc_info=exc)
        return error_response(request, 500, "internal_error", "internal error; see the server log")


def job_view(job_id: str, status: str, *, queue_position: int | None, progress: dict[str, int] | None,
             error: dict[str, str] | None, created_at: float, started_at: float | None, finished_at: float | None,
             result: dict[str, Any] | None, **extra: Any) -> dict[str, Any]:
    """A job as ``POST /v1/jobs`` (202) and ``GET /v1/jobs/{id}`` show it: the shared keys, then the server's own."""
    return {**extra, "job_id": job_id, "status": status, "queue_position": queue_position, "progress": progress,
            "error": error, "created_at": created_at, "started_at": started_at, "finished_at": finished_at,
            "result": result}


def gpu_memory(device: str | None) -> dict[str, Any] | None:
    """CUDA memory in MiB when ``device`` is a CUDA device (torch is already loaded then), else None."""
    torch = sys.modules.get("torch")
    if not (device or "").startswith("cuda") or torch is None or not torch.cuda.is_available():
        return None
    mib = 1024 * 1024
    free, total = torch.cuda.mem_get_info()
    return {"name": torch.cuda.get_device_name(), "total_mib": total // mib, "free_mib": free // mib,
            "allocated_mib": torch.cuda.memory_allocated() // mib, "reserved_mib": torch.cuda.memory_reserved() // mib,
            "peak_allocated_mib": torch.cuda.max_memory_allocated() // mib}


def health_response(*, server: str, version: str, status: str, model: dict[str, Any] | None, device: str | None,
                    running: int, waiting: int, capacity: int, error: dict[str, str] | None,
                    **extra: Any) -> JSONResponse:
    """``GET /health``: the shared keys (then the server's own); HTTP 200 when ``status`` is ok, else 503."""
    body = {**extra, "status": status, "server": server, "version": version, "model": model, "device": device,
            "gpu": gpu_memory(device), "queue": {"running": running, "waiting": waiting, "capacity": capacity},
            "error": error}
    return JSONResponse(body, status_code=200 if status == "ok" else 503)


# ------------------------------------------------------------------------------------------ shared contract (end)


# --------------------------------------------------------------------------------------------- speakers


@dataclass(frozen=True)
class ZeroShotSpeaker:
    """A voice to clone: a prompt WAV and what is said in it."""

    id: str
    wav: Path
    transcript: str


@dataclass(frozen=True)
class SpeakerInfo:
    """One entry of ``GET /v1/speakers``."""

    id: str
    kind: Literal["builtin", "zero_shot"]
    clones_voice: bool
    description: str = ""


def wav_seconds(path: Path) -> float:
    """Duration of a WAV file from its header."""
    with wave.open(str(path), "rb") as wav:
        return wav.getnframes() / wav.getframerate()


def load_zero_shot_speakers(folder: Path, *, max_seconds: float) -> list[ZeroShotSpeaker]:
    """Read ``<folder>/<name>.wav`` + ``<name>.txt`` pairs; a pair that is unusable is logged and skipped."""
    if not folder.is_dir():
        return []
    speakers = []
    for wav in sorted(folder.glob("*.wav")):
        problem = zero_shot_problem(wav, max_seconds=max_seconds)
        if problem:
            logger.warning("speaker %s skipped: %s", wav.name, problem)
            continue
        speakers.append(ZeroShotSpeaker(wav.stem, wav, wav.with_suffix(".txt").read_text("utf-8").strip()))
    return speakers


def zero_shot_problem(wav: Path, *, max_seconds: float) -> str:
    """Why a prompt WAV cannot register a speaker ("" when it can)."""
    if not SPEAKER_ID.match(wav.stem):
        return "name must be letters, digits, '_', '-' or '.' (at most 64)"
    transcript = wav.with_suffix(".txt")
    if not transcript.is_file() or not transcript.read_text("utf-8").strip():
        return f"{transcript.name} (the transcript of the WAV) is missing or empty"
    try:
        seconds = wav_seconds(wav)
    except (OSError, EOFError, wave.Error):
        return "not a readable PCM WAV file"
    if not 0.5 <= seconds <= max_seconds:
        return f"prompt is {seconds:.1f} s; use 0.5-{max_seconds:g} s of clean speech"
    return ""


# --------------------------------------------------------------------------------------------- audio + text


@dataclass(frozen=True)
class Synthesis:
    """What one engine call must say."""

    text: str
    speaker: str
    speed: float = 1.0
    instruct: str | None = None


@dataclass(frozen=True)
class Audio:
    """Mono 16-bit little-endian PCM at ``sample_rate`` plus how it was made."""

    pcm: bytes
    sample_rate: int
    segments: int
    cloned: bool = False
    instruct_applied: bool = False

    @property
    def seconds(self) -> float:
        return len(self.pcm) / 2 / self.sample_rate


def wav_bytes(pcm: bytes, sample_rate: int) -> bytes:
    """A RIFF/WAVE file holding mono 16-bit ``pcm``."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(sample_rate)
        wav.writeframes(pcm)
    return buffer.getvalue()


def speech_to_pcm16(speech: Any) -> bytes:
    """One ``tts_speech`` chunk (torch tensor [1, n] or anything numpy.asarray takes) as 16-bit PCM bytes."""
    import numpy as np  # a CosyVoice dependency; imported lazily so the espeak engine never needs it

    if hasattr(speech, "detach"):  # torch.Tensor: leave the GPU, go to float32 numpy
        speech = speech.detach().float().cpu().numpy()
    samples = np.asarray(speech, dtype=np.float32).reshape(-1)
    return (np.clip(samples, -1.0, 1.0) * 32767.0).astype("<i2").tobytes()


def has_cjk(text: str) -> bool:
    return bool(CJK.search(text))


def split_sentences(text: str, *, max_chars: int = 120) -> list[str]:
    """Sentences of ``text`` (Chinese or Western punctuation), none longer than ``max_chars``, nothing lost."""
    pieces = [p.strip() for p in re.split(r"(?<=[。！？!?；;…\n])|(?<=[.:])\s+", text)]
    sentences: list[str] = []
    for piece in filter(None, pieces):
        if sentences and not SPEAKABLE.search(piece):
            sentences[-1] += piece  # stray punctuation belongs to the sentence before
        else:
            sentences.extend(wrap(piece, max_chars))
    return sentences


def wrap(sentence: str, max_chars: int) -> list[str]:
    """Cut an over-long sentence at commas (or hard at ``max_chars``)."""
    out: list[str] = []
    while len(sentence) > max_chars:
        head = sentence[:max_chars]
        cut = max(head.rfind(c) for c in "，,、 ")
        cut = cut + 1 if cut > max_chars // 3 else max_chars
        out.append(sentence[:cut].strip())
        sentence = sentence[cut:].strip()
    return [*out, sentence] if sentence else out


# --------------------------------------------------------------------------------------------- engines


class Engine(Protocol):
    """A speech engine; ``synthesize`` runs in a worker thread, one call at a time."""

    name: str
    model: str
    device: str  # where it runs: "cpu", "cuda"

    @property
    def sample_rate(self) -> int: ...

    def speakers(self) -> list[SpeakerInfo]:
        """Every speaker id this engine accepts."""
        ...

    def synthesize(self, job: Synthesis) -> Audio:
        """Speak ``job.text`` completely; raise on failure."""
        ...


#: Built-in espeak speakers, named like CosyVoice-300M-SFT's so clients can switch engines:
#: id -> (voice for Chinese text, voice for other text).
ESPEAK_SPEAKERS = {
    "中文女": ("cmn+f3", "en-us+f3"),
    "中文男": ("cmn", "en-us"),
    "英文女": ("cmn+f3", "en-us+f3"),
    "英文男": ("cmn", "en-us"),
}


class EspeakEngine:
    """espeak-ng, one sentence at a time, the sentences concatenated (22050 Hz).

    Zero-shot speakers are accepted and listed, but espeak cannot clone a voice: they are spoken with the
    default built-in voice and answered with ``X-Speaker-Cloned: false``.
    """

    name = "espeak"
    model = "espeak-ng"
    device = "cpu"
    sample_rate = 22050

    def __init__(self, settings: Settings, zero_shot: list[ZeroShotSpeaker]):
        self.settings, self.zero_shot = settings, {s.id: s for s in zero_shot}
        self.default = next(iter(ESPEAK_SPEAKERS))

    def speakers(self) -> list[SpeakerInfo]:
        builtin = [SpeakerInfo(s, "builtin", False, f"espeak-ng {v[0]} / {v[1]}") for s, v in ESPEAK_SPEAKERS.items()]
        cloned = [SpeakerInfo(s, "zero_shot", False, "spoken with the default espeak voice") for s in self.zero_shot]
        return builtin + cloned

    def synthesize(self, job: Synthesis) -> Audio:
        voices = ESPEAK_SPEAKERS.get(job.speaker, ESPEAK_SPEAKERS[self.default])
        sentences = split_sentences(job.text)
        with tempfile.TemporaryDirectory(prefix="espeak-") as tmp:
            pcm = b"".join(self._say(s, voices, job.speed, Path(tmp) / f"{i}.wav") for i, s in enumerate(sentences))
        return Audio(pcm, self.sample_rate, len(sentences))

    def _say(self, sentence: str, voices: tuple[str, str], speed: float, out: Path) -> bytes:
        zh = has_cjk(sentence)
        wpm = min(max(round((self.settings.espeak_wpm_zh if zh else self.settings.espeak_wpm) * speed), 80), 450)
        argv = [self.settings.espeak_binary, "-v", voices[0] if zh else voices[1], "-s", str(wpm), "-b", "1",
                "-w", str(out), "--stdin"]  # the text goes through stdin, never parsed as an option
        subprocess.run(argv, input=sentence.encode(), capture_output=True, check=True,
                       timeout=self.settings.espeak_timeout_s)
        with wave.open(str(out), "rb") as wav:
            if (wav.getframerate(), wav.getnchannels(), wav.getsampwidth()) != (self.sample_rate, 1, 2):
                raise RuntimeError(f"unexpected espeak-ng output format {wav.getparams()}")
            return wav.readframes(wav.getnframes())


class CosyVoiceEngine:
    """Adapter over a CosyVoice2 / CosyVoice3 model object (``cosyvoice.cli.cosyvoice.AutoModel``).

    The contract relied on (FunAudioLLM/CosyVoice ``cosyvoice/cli/cosyvoice.py`` at ace7c47) - nothing else:

    * ``model.sample_rate: int`` - the rate of every ``tts_speech`` (24000 for CosyVoice2/3-0.5B).
    * ``model.list_available_spks() -> list[str]`` - built-in (SFT) speakers plus registered zero-shot ones.
    * ``model.add_zero_shot_spk(prompt_text, prompt_wav, zero_shot_spk_id)`` - ``prompt_wav`` is a file path.
    * ``model.inference_sft(tts_text, spk_id, stream=False, speed=1.0)``
    * ``model.inference_zero_shot(tts_text, prompt_text, prompt_wav, zero_shot_spk_id='', stream=False, speed=1.0)``
    * ``model.inference_instruct2(tts_text, instruct_text, prompt_wav, zero_shot_spk_id='', stream=False,
      speed=1.0)``

    Each ``inference_*`` is a generator yielding ``{"tts_speech": FloatTensor[1, samples]}`` in [-1, 1], one dict
    per text segment (CosyVoice splits long text itself); the adapter concatenates **all** of them. A chunk may
    be a torch tensor (moved to the CPU) or anything ``numpy.asarray`` accepts; torch is never imported here.

    Routing: zero-shot speaker -> ``inference_zero_shot`` with its cached id; zero-shot speaker + instruct ->
    ``inference_instruct2`` with the prompt WAV path and an *empty* spk id (with an id, CosyVoice's
    ``frontend_zero_shot`` reuses the cached prompt and drops the instruct text); built-in speaker ->
    ``inference_sft`` (instruct needs a prompt voice on v2/v3, so it is not applied: ``X-Instruct-Applied:
    false``).

    Markers, as in the official examples (``example.py``): CosyVoice2's instruct text ends with
    ``<|endofprompt|>``; CosyVoice3's prompt text starts with ``"You are a helpful assistant.<|endofprompt|>"`` and its
    instruct text is ``"You are a helpful assistant. <instruct><|endofprompt|>"``. CosyVoice3's SFT path has no prompt
    text, so each sentence's tts text carries the system prefix itself (as the v3 cross-lingual example does); and as
    CosyVoice skips its text frontend - sentence splitting included - for text holding ``<|…|>``, the adapter
    splits the text into sentences itself there.
    """

    name = "cosyvoice"

    def __init__(self, model: Any, zero_shot: list[ZeroShotSpeaker], *, model_name: str = ""):
        self.cosy = model
        self.model = model_name or type(model).__name__
        torch = sys.modules.get("torch")  # CosyVoice runs on CUDA whenever torch sees a GPU
        self.device = "cuda" if torch is not None and torch.cuda.is_available() else "cpu"
        self.v3 = "CosyVoice3" in type(model).__name__
        self.zero_shot = {s.id: s for s in zero_shot}
        for speaker in zero_shot:
            model.add_zero_shot_spk(self.prompt_text(speaker.transcript), str(speaker.wav), speaker.id)
        self.builtin = [s for s in model.list_available_spks() if s not in self.zero_shot]

    @property
    def sample_rate(self) -> int:
        return int(self.cosy.sample_rate)

    def speakers(self) -> list[SpeakerInfo]:
        return [SpeakerInfo(s, "builtin", True) for s in self.builtin] + [
            SpeakerInfo(s, "zero_shot", True, "cloned from its prompt WAV") for s in self.zero_shot]

    def prompt_text(self, transcript: str) -> str:
        return transcript if not self.v3 or END_OF_PROMPT in transcript else f"{V3_PREFIX}{END_OF_PROMPT}{transcript}"

    def instruct_text(self, instruct: str) -> str:
        if END_OF_PROMPT in instruct:
            return instruct
        return f"{V3_PREFIX} {instruct}{END_OF_PROMPT}" if self.v3 else f"{instruct}{END_OF_PROMPT}"

    def synthesize(self, job: Synthesis) -> Audio:
        chunks, cloned, instructed = self._generate(job)
        pieces = [speech_to_pcm16(chunk["tts_speech"]) for chunk in chunks]
        if not pieces:
            raise RuntimeError("CosyVoice produced no audio")
        return Audio(b"".join(pieces), self.sample_rate, len(pieces), cloned, instructed)

    def _generate(self, job: Synthesis) -> tuple[Iterable[dict], bool, bool]:
        options = {"stream": False, "speed": job.speed}
        voice = self.zero_shot.get(job.speaker)
        if voice and job.instruct:
            return self.cosy.inference_instruct2(job.text, self.instruct_text(job.instruct), str(voice.wav),
                                                 zero_shot_spk_id="", **options), True, True
        if voice:
            return self.cosy.inference_zero_shot(job.text, self.prompt_text(voice.transcript), str(voice.wav),
                                                 zero_shot_spk_id=voice.id, **options), True, False
        if self.v3:  # no prompt text on this path: every sentence carries the marker CosyVoice3's LM asserts
            chunks = (chunk for sentence in split_sentences(job.text)
                      for chunk in self.cosy.inference_sft(f"{V3_PREFIX}{END_OF_PROMPT}{sentence}", job.speaker,
                                                           **options))
            return chunks, False, False
        return self.cosy.inference_sft(job.text, job.speaker, **options), False, False


def load_cosyvoice(settings: Settings, zero_shot: list[ZeroShotSpeaker]) -> CosyVoiceEngine:
    """Import CosyVoice from its checkout and load the local model folder (never a hub download)."""
    repo, model_dir = settings.repo_dir, settings.model_dir
    if not model_dir or not any((model_dir / f"cosyvoice{v}.yaml").is_file() for v in ("2", "3")):
        raise RuntimeError(f"COSYVOICE_MODEL_DIR={model_dir} is not a CosyVoice2/3 model folder "
                           "(no cosyvoice2.yaml / cosyvoice3.yaml); run deploy.sh --cosyvoice")
    if repo:
        if not (repo / "cosyvoice" / "cli" / "cosyvoice.py").is_file():
            raise RuntimeError(f"COSYVOICE_REPO_DIR={repo} is not a FunAudioLLM/CosyVoice checkout")
        sys.path[:0] = [str(repo), str(repo / "third_party" / "Matcha-TTS")]
    from cosyvoice.cli.cosyvoice import AutoModel  # the checkout is only on sys.path now

    model = AutoModel(model_dir=str(model_dir), fp16=settings.fp16, load_trt=settings.load_trt)
    return CosyVoiceEngine(model, zero_shot, model_name=model_dir.name)


def build_engine(settings: Settings) -> Engine:
    """The engine the settings ask for (``auto``: CosyVoice when its model folder exists, else espeak)."""
    zero_shot = load_zero_shot_speakers(settings.speakers_dir, max_seconds=settings.max_prompt_seconds)
    engine = settings.engine
    if engine == "auto":
        engine = "cosyvoice" if settings.model_dir and settings.model_dir.is_dir() else "espeak"
        if engine == "espeak":
            logger.warning("COSYVOICE_MODEL_DIR is not set or missing: using the espeak-ng engine")
    if engine == "cosyvoice":
        return load_cosyvoice(settings, zero_shot)
    return EspeakEngine(settings, zero_shot)


# --------------------------------------------------------------------------------------------- one job at a time


class QueueFull(Exception):
    pass


class GpuGate:
    """One synthesis at a time; at most ``max_waiting`` callers wait behind it (the rest get 429)."""

    def __init__(self, max_waiting: int):
        self.lock, self.max_waiting, self.waiting, self.running = asyncio.Lock(), max_waiting, 0, 0

    @contextlib.asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        if self.lock.locked() and self.waiting >= self.max_waiting:
            raise QueueFull
        self.waiting += 1
        try:
            await self.lock.acquire()
        finally:
            self.waiting -= 1
        self.running = 1
        try:
            yield
        finally:
            self.running = 0
            self.lock.release()


async def run_exclusively(fn: Any, *args: Any) -> Any:
    """Run ``fn`` in a worker thread; if the caller goes away, still hold the slot until the thread is done (the
    GPU is busy until then), then free cached CUDA memory."""
    task = asyncio.ensure_future(run_in_threadpool(fn, *args))
    try:
        return await asyncio.shield(task)
    except asyncio.CancelledError:
        await asyncio.gather(task, return_exceptions=True)
        raise
    finally:
        free_gpu_memory()


def free_gpu_memory() -> None:
    """Return cached CUDA blocks after a job, if torch is in use at all."""
    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_available():
        torch.cuda.empty_cache()


# --------------------------------------------------------------------------------------------- request -> WAV


class TTSRequest(BaseModel):
    """``POST /v1/tts`` body. ``style`` / ``instruct_text`` are accepted as names of ``instruct`` (the tone)."""

    model_config = ConfigDict(extra="ignore")

    text: str = Field(min_length=1, description="What to say; long text is split and every segment spoken")
    speaker: str = Field("", max_length=64, description="A speaker id from GET /v1/speakers; empty: the default")
    speed: float = Field(1.0, ge=0.5, le=2.0)
    instruct: str | None = Field(None, validation_alias=AliasChoices("instruct", "style", "instruct_text"),
                                 description="How to say it, e.g. '用温柔的语气说' (zero-shot speakers on CosyVoice)")


@dataclass(frozen=True)
class TTSOutput:
    """A finished synthesis: the WAV file bytes and what went into it."""

    wav: bytes
    audio: Audio
    speaker: str
    headers: dict[str, str] = field(default_factory=dict)


def check_inputs(request: TTSRequest, settings: Settings, speaker_ids: list[str]) -> None:
    """Raise a precise 4xx ``ApiError`` for anything the engine should never see."""
    text = request.text.strip()
    if len(text) > settings.max_text_chars:
        raise ApiError(422, "text_too_long", f"text has {len(text)} characters; the limit is {settings.max_text_chars}",
                       {"max_chars": settings.max_text_chars, "chars": len(text)})
    if not SPEAKABLE.search(text):
        raise ApiError(422, "empty_text", "text has nothing to say (no letters, digits or characters)")
    if request.instruct and len(request.instruct) > settings.max_instruct_chars:
        raise ApiError(422, "instruct_too_long", f"instruct is limited to {settings.max_instruct_chars} characters",
                       {"max_chars": settings.max_instruct_chars})
    if request.speaker and request.speaker not in speaker_ids:
        raise ApiError(422, "unknown_speaker", f"unknown speaker {request.speaker!r}; known: {', '.join(speaker_ids)}",
                       {"speakers": speaker_ids})


def default_speaker(engine: Engine, settings: Settings) -> str:
    ids = [s.id for s in engine.speakers()]
    if settings.default_speaker in ids:
        return settings.default_speaker
    return ids[0] if ids else ""


async def generate(engine: Engine, gate: GpuGate, request: TTSRequest, settings: Settings) -> TTSOutput:
    """Validate, queue, synthesize every segment and encode one WAV."""
    # 1. validate
    speakers = [s.id for s in engine.speakers()]
    check_inputs(request, settings, speakers)
    # 2. load inputs
    speaker = request.speaker or default_speaker(engine, settings)
    if not speaker:
        raise ApiError(422, "unknown_speaker", "no speaker given and the model has none built in; register one "
                       "in the speakers folder", {"speakers": speakers})
    job = Synthesis(request.text.strip(), speaker, request.speed, (request.instruct or "").strip() or None)
    # 3. infer (one job on the GPU at a time, in a worker thread)
    try:
        async with gate.slot():
            audio = await run_exclusively(engine.synthesize, job)
    except QueueFull:
        raise queue_full(gate.max_waiting, settings.retry_after_s) from None
    # 4. encode
    wav = wav_bytes(audio.pcm, audio.sample_rate)
    # 5. write
    headers = {"X-Sample-Rate": str(audio.sample_rate), "X-Audio-Duration": f"{audio.seconds:.3f}",
               "X-Segments": str(audio.segments), "X-Speaker-Cloned": str(audio.cloned).lower(),
               "X-Instruct-Applied": str(audio.instruct_applied).lower()}
    return TTSOutput(wav, audio, speaker, headers)


# --------------------------------------------------------------------------------------------- app


def create_app(settings: Settings | None = None) -> FastAPI:
    """The FastAPI app; the engine loads in the lifespan, never at import."""
    settings = settings or Settings()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        try:
            app.state.engine = await run_in_threadpool(build_engine, settings)
        except Exception as exc:
            logger.error("engine failed to load: %s", exc)
            raise
        app.state.gate = GpuGate(settings.max_queue)
        engine = app.state.engine
        logger.info("engine %s (%s) ready at %d Hz with %d speakers on http://%s:%d", engine.name, engine.model,
                    engine.sample_rate, len(engine.speakers()), settings.host, settings.port)
        yield

    app = FastAPI(title="CosyVoice TTS server", version=VERSION, lifespan=lifespan)
    install_contract(app)

    @app.middleware("http")
    async def bound_body_size(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        length = request.headers.get("content-length", "")
        if length.isdigit() and int(length) > settings.max_body_bytes:
            return error_response(request, 413, "payload_too_large",
                                  f"request bodies are limited to {settings.max_body_bytes} bytes")
        if request.method == "POST" and not length.isdigit():
            return error_response(request, 411, "length_required", "send a Content-Length")
        return await call_next(request)

    @app.post("/v1/tts", response_class=Response, responses={200: {"content": {"audio/wav": {}}}})
    async def create_speech(body: TTSRequest, request: Request) -> Response:
        """Speak the whole text; answer one WAV at the engine's sample rate."""
        out = await generate(request.app.state.engine, request.app.state.gate, body, settings)
        logger.info("request %s: %d chars -> %.2f s (%d segments, speaker %s)", request_id_of(request),
                    len(body.text), out.audio.seconds, out.audio.segments, out.speaker)
        return Response(out.wav, media_type="audio/wav", headers={**out.headers, "X-Speaker": quote(out.speaker)})

    @app.get("/v1/speakers")
    async def list_speakers(request: Request) -> dict:
        """Built-in and zero-shot speakers of the loaded engine."""
        engine = request.app.state.engine
        return {"engine": engine.name, "default_speaker": default_speaker(engine, settings),
                "speakers": [asdict(s) for s in engine.speakers()]}

    @app.get("/health")
    async def read_health(request: Request) -> JSONResponse:
        """What is loaded, the queue and GPU memory (always "ok": the engine loads before the port answers)."""
        engine, gate = request.app.state.engine, request.app.state.gate
        model = {"name": engine.model, "loaded": True, "engine": engine.name, "sample_rate": engine.sample_rate,
                 "speakers": len(engine.speakers())}
        return health_response(server=SERVER, version=VERSION, status="ok", model=model, device=engine.device,
                               running=gate.running, waiting=gate.waiting, capacity=gate.max_waiting, error=None,
                               torch_installed=importlib.util.find_spec("torch") is not None)

    return app


def main() -> None:
    """``python CosyVoice/api.py``: serve on COSYVOICE_HOST:COSYVOICE_PORT."""
    settings = Settings()
    logging.basicConfig(level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_level=settings.log_level.lower())


if __name__ == "__main__":
    main()
