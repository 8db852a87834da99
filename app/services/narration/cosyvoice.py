"""Client of our CosyVoice server (CosyVoice/api.py): text → one WAV at the engine's sample rate.

  POST /v1/tts      {text, speaker, speed, instruct?} → audio/wav (16-bit mono); 422 {code, message} for input
                    it refuses (unknown_speaker, empty_text, …), 429 queue_full, 500 internal_error
  GET  /v1/speakers {engine, default_speaker, speakers: [{id, kind, …}]}
  GET  /health      {status: "ok", model: {name, engine, sample_rate, …}, …} (503 when not ok)
The answer is checked to be a real, non-empty WAV before it is written: the upstream client wrote
error bodies to disk as audio.
"""

from __future__ import annotations

import io
import os
import uuid
import wave
from pathlib import Path
from typing import Any

import httpx

from app.core.errors import TerminalBackendError, TransientBackendError, describe
from app.core.settings import Settings
from app.core.settings.vendors import CosyVoiceSettings
from app.services.backend import PolicedCaller, Readiness
from app.services.http_transport import transport_errors
from app.services.local_server import raise_for_error
from app.services.narration.base import SpeechRequest

NAME = "cosyvoice"
#: the server's accepted speed range
MIN_SPEED, MAX_SPEED = 0.5, 2.0


def tts_body(request: SpeechRequest, cfg: CosyVoiceSettings) -> dict[str, Any]:
    """The POST /v1/tts body: speaker and speed from settings (a request voice wins), instruct from the tone."""
    speed = min(max(request.speed * cfg.SPEED, MIN_SPEED), MAX_SPEED)
    body: dict[str, Any] = {"text": request.text.strip(), "speaker": request.voice or cfg.SPEAKER,
                            "speed": round(speed, 3)}
    tone = request.tone.strip()
    if tone:
        template = cfg.INSTRUCT_ZH if request.language.lower().startswith("zh") else cfg.INSTRUCT_EN
        body["instruct"] = template.format(tone=tone)
    return body


def wav_seconds(data: bytes) -> float:
    """Duration of a WAV held in memory; raise TerminalBackendError unless it is a non-empty PCM WAV."""
    try:
        with wave.open(io.BytesIO(data), "rb") as wav:
            frames, rate = wav.getnframes(), wav.getframerate()
            readable = len(wav.readframes(frames)) == frames * wav.getsampwidth() * wav.getnchannels()
    except (wave.Error, EOFError) as exc:
        preview = " ".join(data[:80].decode(errors="replace").split())
        raise TerminalBackendError(NAME, "invalid_audio", f"the answer is not a WAV ({exc}): {preview!r}") from None
    if frames == 0 or rate <= 0 or not readable:
        raise TerminalBackendError(NAME, "invalid_audio", f"the WAV is empty or truncated ({frames} frames)")
    return frames / rate


class CosyVoiceSpeaker:
    """Speech backend on our CosyVoice server."""

    def __init__(self, cfg: CosyVoiceSettings):
        self.cfg = cfg
        self._call = PolicedCaller(NAME, cfg.policy())
        self._client = httpx.AsyncClient(base_url=cfg.BASE_URL.rstrip("/"), timeout=cfg.TIMEOUT_S)

    async def synthesize(self, request: SpeechRequest, out_path: Path) -> float:
        """Write the spoken `request.text` to `out_path` as a WAV; return its duration in seconds.

        Raises:
            TerminalBackendError: the server refused the input (422: unknown_speaker, empty_text, …) or answered
                something that is not a WAV.
            TransientBackendError: queue full (429), 5xx, timeouts (after the retries).
        """
        body = tts_body(request, self.cfg)
        if not body["text"]:
            raise TerminalBackendError(NAME, "empty_text", "there is no text to speak")
        data = await self._call(lambda: self._post(body))
        seconds = wav_seconds(data)
        out_path.parent.mkdir(parents=True, exist_ok=True)
        tmp = out_path.with_name(f".{out_path.name}.{uuid.uuid4().hex}.tmp")
        try:
            tmp.write_bytes(data)
            os.replace(tmp, out_path)
        finally:
            tmp.unlink(missing_ok=True)
        return seconds

    async def ready(self) -> Readiness:
        """Ready when /health is ok and the configured speaker (if any) is one the server has."""
        try:
            response = await self._client.get("/health")
            health = (response if response.status_code == 503 else raise_for_error(NAME, response)).json()
            listed = raise_for_error(NAME, await self._client.get("/v1/speakers")).json()
        except (httpx.HTTPError, TerminalBackendError, TransientBackendError, ValueError) as exc:
            return Readiness(ready=False, detail=f"{self.cfg.BASE_URL}: {describe(exc)}")
        ids = [s.get("id") for s in listed.get("speakers", [])]
        if health.get("status") != "ok":
            return Readiness(ready=False, detail=f"server status {health.get('status')!r}")
        if self.cfg.SPEAKER and self.cfg.SPEAKER not in ids:
            return Readiness(ready=False, detail=f"speaker {self.cfg.SPEAKER!r} unknown; known: {', '.join(ids)}")
        speaker = self.cfg.SPEAKER or listed.get("default_speaker", "")
        model = health.get("model") or {}
        return Readiness(ready=True, detail=f"{model.get('name')} at {model.get('sample_rate')} Hz, "
                                            f"speaker {speaker!r}")

    async def _post(self, body: dict[str, Any]) -> bytes:
        with transport_errors(NAME):
            return await self._read(body)

    async def _read(self, body: dict[str, Any]) -> bytes:
        async with self._client.stream("POST", "/v1/tts", json=body) as response:
            if not response.is_success:
                await response.aread()
                raise_for_error(NAME, response)
            chunks, size = [], 0
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                if size > self.cfg.MAX_AUDIO_BYTES:
                    raise TerminalBackendError(NAME, "audio_too_large", f"over {self.cfg.MAX_AUDIO_BYTES} bytes")
                chunks.append(chunk)
        return b"".join(chunks)

    async def aclose(self) -> None:
        await self._client.aclose()


def create(settings: Settings) -> CosyVoiceSpeaker:
    """The CosyVoice speech backend, from COSYVOICE_* settings."""
    return CosyVoiceSpeaker(settings.cosyvoice)
