"""The one place that runs FFmpeg and ffprobe: awaited subprocesses with timeouts."""

from __future__ import annotations

import asyncio
import json
import shlex
from collections import deque
from pathlib import Path

from loguru import logger

STDERR_TAIL_LINES = 40


class FFmpegError(RuntimeError):
    """FFmpeg or ffprobe exited non-zero or timed out; carries the tail of stderr."""

    def __init__(self, argv: list[str], returncode: int | None, stderr_tail: str):
        self.argv = argv
        self.returncode = returncode
        self.stderr_tail = stderr_tail
        super().__init__(f"{Path(argv[0]).name} failed ({returncode}): {stderr_tail[-600:]}")


async def run_ffmpeg(args: list[str], *, timeout_s: float = 600.0) -> None:
    """Run `ffmpeg -hide_banner -nostdin -y <args>`; raise FFmpegError on failure or timeout.

    The process is killed when the timeout passes or the awaiting task is cancelled.
    """
    argv = ["ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error", "-y", *args]
    await _run(argv, timeout_s=timeout_s)


async def _run(argv: list[str], *, timeout_s: float) -> bytes:
    logger.debug("exec {}", shlex.join(argv))
    proc = await asyncio.create_subprocess_exec(
        *argv, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    try:
        stdout, stderr = await asyncio.wait_for(proc.communicate(), timeout_s)
    except (TimeoutError, asyncio.CancelledError):
        proc.kill()
        await proc.wait()
        raise
    if proc.returncode != 0:
        tail = "\n".join(deque(stderr.decode(errors="replace").splitlines(), maxlen=STDERR_TAIL_LINES))
        raise FFmpegError(argv, proc.returncode, tail)
    return stdout


async def probe(path: Path, *, timeout_s: float = 60.0) -> dict:
    """ffprobe's JSON description (format and streams) of a media file."""
    argv = ["ffprobe", "-v", "error", "-print_format", "json", "-show_format", "-show_streams", str(path)]
    return json.loads(await _run(argv, timeout_s=timeout_s))


async def media_duration(path: Path) -> float:
    """Container duration of a media file in seconds."""
    info = await probe(path)
    return float(info["format"]["duration"])
