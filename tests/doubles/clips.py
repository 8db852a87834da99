"""Small real media files for the doubles to return: MP4 clips from FFmpeg's lavfi sources, WAVs."""

from __future__ import annotations

import io
import math
import struct
import subprocess
import wave
from pathlib import Path


def make_clip(path: Path, *, seconds: float, width: int, height: int, fps: int, audio_hz: int | None = None) -> bytes:
    """Write an H.264 MP4 test pattern (optionally with mono AAC at `audio_hz`); return its bytes."""
    args = ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y",
            "-f", "lavfi", "-i", f"testsrc2=s={width}x{height}:r={fps}:d={seconds}"]
    if audio_hz:
        args += ["-f", "lavfi", "-i", f"sine=f=440:r={audio_hz}:d={seconds}", "-ac", "1", "-c:a", "aac"]
    args += ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", str(path)]
    subprocess.run(args, check=True, capture_output=True)
    return path.read_bytes()


def tone_pcm(frames: int, sample_rate: int) -> bytes:
    """`frames` samples of a soft 220 Hz tone as 16-bit mono PCM."""
    return b"".join(struct.pack("<h", int(8000 * math.sin(2 * math.pi * 220 * i / sample_rate))) for i in range(frames))


def wav_of(pcm: bytes, sample_rate: int) -> bytes:
    """16-bit mono PCM in a WAV file."""
    buf = io.BytesIO()
    with wave.open(buf, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(sample_rate)
        wav.writeframes(pcm)
    return buf.getvalue()


def wav_bytes(seconds: float, sample_rate: int = 24000) -> bytes:
    """A 16-bit mono WAV of a soft 220 Hz tone."""
    return wav_of(tone_pcm(round(seconds * sample_rate), sample_rate), sample_rate)
