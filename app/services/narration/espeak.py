"""Embedded speech backend: espeak-ng (offline formant synthesis) run as an awaited subprocess."""

from __future__ import annotations

import asyncio
import os
import re
import uuid
import wave
from pathlib import Path

from loguru import logger

from app.core.errors import SpeechError
from app.core.settings import Settings
from app.services.backend import Readiness, binary_readiness
from app.services.narration.base import SpeechRequest
from app.services.worker_pool import niced

#: Han ideographs (CJK Unified Ideographs, Extension A, Compatibility).
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
#: espeak-ng's accepted speaking rates in words per minute.
MIN_WPM, MAX_WPM = 80, 450


def has_cjk(text: str) -> bool:
    """Whether `text` contains Chinese characters."""
    return bool(_CJK.search(text))


def voice_for(text: str, language: str, *, zh_voice: str = "cmn", en_voice: str = "en-us") -> str:
    """The espeak-ng voice: Mandarin for language 'zh*' or Chinese text, else English."""
    return zh_voice if language.lower().startswith("zh") or has_cjk(text) else en_voice


def words_per_minute(base_wpm: int, speed: float) -> int:
    """espeak-ng's `-s` rate for a speed factor (1.0 = base), clamped to what espeak-ng accepts."""
    if speed <= 0:
        raise ValueError(f"speed must be positive, got {speed}")
    return min(max(round(base_wpm * speed), MIN_WPM), MAX_WPM)


def espeak_args(voice: str, wpm: int, out_path: Path, binary: str = "espeak-ng") -> list[str]:
    """espeak-ng argv writing a WAV; the text goes through stdin, so it is never parsed as an option."""
    return [binary, "-v", voice, "-s", str(wpm), "-b", "1", "-w", str(out_path), "--stdin"]


def wav_duration(path: Path) -> float:
    """Duration in seconds from a WAV file's header."""
    with wave.open(str(path), "rb") as wav:
        return wav.getnframes() / wav.getframerate()


class EspeakSpeaker:
    """Speech backend that speaks with espeak-ng: robotic but offline and instant (22050 Hz mono WAV).

    Voices and rate come from `settings` unless given; `request.voice` (a provider voice name) is ignored.
    """

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        zh_voice: str = "",
        en_voice: str = "",
        wpm: int = 0,
        wpm_zh: int = 0,
        timeout_s: float = 120.0,
        binary: str = "espeak-ng",
    ):
        self.zh_voice = zh_voice or (settings.espeak.TTS_VOICE_ZH if settings else "cmn")
        self.en_voice = en_voice or (settings.espeak.TTS_VOICE_EN if settings else "en-us")
        self.wpm = wpm or (settings.espeak.TTS_WORDS_PER_MINUTE if settings else 165)
        # espeak-ng counts each Chinese character as a word, so Mandarin needs a higher rate.
        self.wpm_zh = wpm_zh or (settings.espeak.TTS_WORDS_PER_MINUTE_ZH if settings else 270)
        self.timeout_s, self.binary = timeout_s, binary
        self.nice = settings.work.EMBEDDED_NICE if settings else 0

    async def synthesize(self, request: SpeechRequest, out_path: Path) -> float:
        """Write the spoken `request.text` to `out_path` as a WAV; return its duration in seconds."""
        text = request.text.strip()
        if not text:
            raise ValueError("cannot synthesize empty text")
        voice = voice_for(text, request.language, zh_voice=self.zh_voice, en_voice=self.en_voice)
        out_path.parent.mkdir(parents=True, exist_ok=True)
        # espeak-ng cuts a -w path at 200 bytes and writes elsewhere without a word: it runs in the output
        # folder and gets a short relative name
        tmp = out_path.with_name(f".{uuid.uuid4().hex[:12]}.tmp.wav")
        try:
            base = self.wpm_zh if voice == self.zh_voice else self.wpm
            await self._run(espeak_args(voice, words_per_minute(base, request.speed), Path(tmp.name), self.binary),
                            text, cwd=tmp.parent)
            duration = wav_duration(tmp)
            if duration <= 0:
                raise SpeechError("espeak-ng produced no audio")
            os.replace(tmp, out_path)
        except (OSError, wave.Error) as exc:
            raise SpeechError(f"espeak-ng output unusable: {exc}") from exc
        finally:
            tmp.unlink(missing_ok=True)
        return duration

    async def _run(self, argv: list[str], text: str, *, cwd: Path) -> None:
        try:
            proc = await asyncio.create_subprocess_exec(
                *niced(argv, self.nice), stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.PIPE, cwd=cwd,
            )
        except FileNotFoundError as exc:
            raise SpeechError(f"{argv[0]} is not installed (apt-get install espeak-ng)") from exc
        try:
            _, stderr = await asyncio.wait_for(proc.communicate(text.encode()), self.timeout_s)
        except (TimeoutError, asyncio.CancelledError) as exc:
            proc.kill()
            await proc.wait()
            if isinstance(exc, TimeoutError):
                raise SpeechError(f"{argv[0]} timed out after {self.timeout_s:g} s") from exc
            raise
        if proc.returncode != 0:
            raise SpeechError(f"{argv[0]} failed ({proc.returncode}): {stderr.decode(errors='replace')[-400:]}")
        if stderr.strip():
            logger.warning("{} said: {}", argv[0], stderr.decode(errors="replace")[-400:])

    async def ready(self) -> Readiness:
        """Ready when the espeak-ng binary is installed."""
        return binary_readiness(self.binary)

    async def aclose(self) -> None:
        """Nothing to close: each call runs its own espeak-ng process."""


def create(settings: Settings) -> EspeakSpeaker:
    """The embedded speech backend configured from settings (TTS_VOICE_ZH/EN, TTS_WORDS_PER_MINUTE[_ZH])."""
    return EspeakSpeaker(settings)
