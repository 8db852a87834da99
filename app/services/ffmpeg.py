"""The one place that runs FFmpeg and ffprobe: awaited subprocesses with timeouts.

Every process is killed when its timeout passes or the awaiting task is cancelled, and waited for,
so none outlives the call. `run_ffmpeg_piped` runs a chain of producers into one consumer (raw
frames through OS pipes, moved by the kernel with splice where available).

Once `configure` is called (the app does at start-up), at most FFMPEG_MAX_PROCESSES FFmpeg runs go at
once (a piped composition counts as one run), and each process starts in its own process group whose
id is recorded under DATA_DIR/run/ffmpeg; `kill_orphans` kills the groups a killed service left behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shlex
import signal
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

from loguru import logger

from app.core import metrics
from app.core.errors import FFmpegError
from app.services.worker_pool import niced

STDERR_TAIL_LINES = 40
#: Lines of FFmpeg's log kept for the caller (filter summaries such as ebur128's come last).
LOG_LINES = 400
#: Bytes moved per splice/read when relaying between pipes, and the pipe size asked for.
PIPE_CHUNK = 1 << 20
_F_SETPIPE_SZ = 1031

#: Called with the seconds of output written so far.
ProgressCallback = Callable[[float], Awaitable[None]]

T = TypeVar("T")


def ffmpeg_argv(args: Sequence[str], *, loglevel: str = "error", progress: bool = False) -> list[str]:
    """The full command line: `ffmpeg -hide_banner -nostdin -loglevel L -y [-progress pipe:1] <args>`."""
    report = ["-progress", "pipe:1"] if progress else []
    return ["ffmpeg", "-hide_banner", "-nostdin", "-nostats", "-loglevel", loglevel, "-y", *report, *args]


class _Limits:
    """The process-wide FFmpeg limit and where running process groups are recorded (unset: no limit, no record)."""

    slots: asyncio.Semaphore | None = None
    run_dir: Path | None = None
    nice: int = 0


def configure(run_dir: Path | None, max_runs: int | None, *, nice: int = 0) -> None:
    """Record process groups under `run_dir`, let at most `max_runs` FFmpeg runs go at once, and start them
    `nice` steps below the service's priority (so the API answers first when the cores are busy)."""
    _Limits.run_dir = run_dir
    _Limits.nice = nice
    _Limits.slots = asyncio.Semaphore(max_runs) if max_runs else None
    if run_dir is not None:
        run_dir.mkdir(parents=True, exist_ok=True)


@contextlib.asynccontextmanager
async def _slot() -> AsyncIterator[None]:
    if _Limits.slots is None:
        yield
        return
    async with _Limits.slots:
        yield


def kill_orphans(run_dir: Path) -> int:
    """Kill the FFmpeg process groups recorded in `run_dir` by a previous process; return how many lived."""
    killed = 0
    for record in run_dir.glob("*") if run_dir.exists() else []:
        if record.name.isdigit() and _start_time(int(record.name)) == record.read_text().strip():
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(int(record.name), signal.SIGKILL)
                killed += 1
        record.unlink(missing_ok=True)
    return killed


def _start_time(pid: int) -> str | None:
    """The kernel's start time of `pid` (so a reused pid is never mistaken for our orphan)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[19]


def _record(proc: asyncio.subprocess.Process) -> None:
    if _Limits.run_dir is not None:
        with contextlib.suppress(OSError):
            (_Limits.run_dir / str(proc.pid)).write_text(_start_time(proc.pid) or "")


def _forget(proc: asyncio.subprocess.Process) -> None:
    if _Limits.run_dir is not None:
        (_Limits.run_dir / str(proc.pid)).unlink(missing_ok=True)


async def run_ffmpeg(
    args: list[str], *, timeout_s: float = 600.0, on_progress: ProgressCallback | None = None, loglevel: str = "error"
) -> str:
    """Run FFmpeg with `args`; return the end of its log; raise FFmpegError on failure.

    With `on_progress`, FFmpeg reports through `-progress` and the callback gets the output time.
    Raises TimeoutError after `timeout_s`; the process is killed then and on cancellation.
    """
    argv = ffmpeg_argv(args, loglevel=loglevel, progress=on_progress is not None)
    async with _slot():
        logger.debug("exec {}", shlex.join(argv))
        proc = await _spawn(argv)
        try:
            async with asyncio.timeout(timeout_s):
                return await _finish(proc, argv, on_progress)
        except BaseException:
            await _kill(proc)
            raise


async def run_ffmpeg_piped(
    producers: Sequence[list[str]],
    consumer: list[str],
    *,
    timeout_s: float = 600.0,
    on_progress: ProgressCallback | None = None,
) -> None:
    """Run `consumer` reading, as its stdin, the stdout of each producer in turn.

    The next producer is started while the current one is relayed, so its start-up is hidden;
    at most two producers run at once. Any failure, the timeout or cancellation kills them all.
    """
    async with _slot():
        await _run_piped(producers, consumer, timeout_s=timeout_s, on_progress=on_progress)


async def _run_piped(producers: Sequence[list[str]], consumer: list[str], *, timeout_s: float,
                     on_progress: ProgressCallback | None) -> None:
    argv = ffmpeg_argv(consumer, progress=on_progress is not None)
    logger.debug("exec {} (fed by {} producers)", shlex.join(argv), len(producers))
    relay = _Relay()
    try:
        async with asyncio.timeout(timeout_s):
            read_end, relay.sink = _pipe()
            try:
                proc = await _spawn(argv, stdin=read_end)
            finally:
                os.close(read_end)
            relay.procs.append(proc)
            finished = relay.track(_finish(proc, argv, on_progress))
            fed = await relay.feed(producers)
            relay.close_sink()
            await finished
            if not fed:
                raise FFmpegError(argv, proc.returncode, "the encoder stopped reading its input")
    except BaseException:
        await relay.abort()
        raise
    finally:
        relay.close_sink()


class _Producer(NamedTuple):
    """A started producer: its process, the read end of its stdout pipe, its argv and its log being read."""

    proc: asyncio.subprocess.Process
    source: int
    argv: list[str]
    log: asyncio.Future[str]


class _Relay:
    """The processes, pipe ends and tasks of one `run_ffmpeg_piped` call, and their clean-up."""

    def __init__(self) -> None:
        self.sink = -1
        self.procs: list[asyncio.subprocess.Process] = []
        self.sources: list[int] = []
        self.tasks: list[asyncio.Future[Any]] = []

    def track(self, awaitable: Awaitable[T]) -> asyncio.Future[T]:
        future = asyncio.ensure_future(awaitable)
        self.tasks.append(future)
        return future

    async def feed(self, producers: Sequence[list[str]]) -> bool:
        """Relay each producer's stdout into the sink in order; False if the reader went away."""
        upcoming = await self._start(producers[0]) if producers else None
        index = 0
        while upcoming is not None:
            proc, source, argv, log = upcoming
            index += 1
            upcoming = await self._start(producers[index]) if index < len(producers) else None
            pump = self.track(asyncio.get_running_loop().run_in_executor(None, _pump, source, self.sink))
            try:
                await asyncio.shield(pump)
            except BrokenPipeError:
                return False
            self._close_source(source)
            returncode = await proc.wait()
            _forget(proc)
            if returncode != 0:
                raise FFmpegError(argv, proc.returncode, _tail(await log))
            self.procs.remove(proc)
        return True

    async def _start(self, args: list[str]) -> _Producer:
        argv = ffmpeg_argv(args)
        source, sink = _pipe()
        self.sources.append(source)
        try:
            proc = await _spawn(argv, stdout=sink)
        finally:
            os.close(sink)
        self.procs.append(proc)
        return _Producer(proc, source, argv, self.track(_read_log(proc.stderr)))

    async def abort(self) -> None:
        """Kill every process, then let the relaying threads and readers end before closing pipes."""
        await asyncio.gather(*(_kill(proc) for proc in self.procs))
        if self.tasks:
            await asyncio.wait(self.tasks, timeout=10)
        for task in self.tasks:
            if task.done() and not task.cancelled():
                task.exception()  # retrieved: the first failure is the one raised
        if all(task.done() for task in self.tasks):
            for source in list(self.sources):
                self._close_source(source)

    def close_sink(self) -> None:
        if self.sink >= 0:
            os.close(self.sink)
            self.sink = -1

    def _close_source(self, source: int) -> None:
        self.sources.remove(source)
        os.close(source)


def _pump(source: int, sink: int) -> None:
    """Move bytes from `source` to `sink` until end of file (blocking; runs in a worker thread)."""
    splice = getattr(os, "splice", None)
    while True:
        if splice is not None:
            if splice(source, sink, PIPE_CHUNK) == 0:
                return
            continue
        data = os.read(source, PIPE_CHUNK)
        if not data:
            return
        view = memoryview(data)
        while view:
            view = view[os.write(sink, view) :]


def _pipe() -> tuple[int, int]:
    """An OS pipe (read end, write end) enlarged where the system allows, to batch the relaying."""
    read_end, write_end = os.pipe()
    with contextlib.suppress(OSError, AttributeError):
        import fcntl

        fcntl.fcntl(write_end, _F_SETPIPE_SZ, PIPE_CHUNK)
    return read_end, write_end


async def _spawn(argv: list[str], *, stdin: int = asyncio.subprocess.DEVNULL,
                 stdout: int = asyncio.subprocess.PIPE) -> asyncio.subprocess.Process:
    """Start a process in a group of its own, recorded until it has been waited for."""
    # a process group of its own, not a session: a new session is a new scheduler autogroup on Linux,
    # whose fair share equals the whole service's whatever the process's niceness
    proc = await asyncio.create_subprocess_exec(*niced(argv, _Limits.nice), stdin=stdin, stdout=stdout,
                                                stderr=asyncio.subprocess.PIPE, process_group=0)
    _record(proc)
    return proc


async def _finish(proc: asyncio.subprocess.Process, argv: list[str], on_progress: ProgressCallback | None) -> str:
    """Wait for `proc` while reading its progress and log; raise FFmpegError if it failed.

    An encode that reports progress also counts its speed (media seconds per wall second) in the metrics."""
    started, encoded = time.perf_counter(), [0.0]

    async def report(seconds: float) -> None:
        encoded[0] = seconds
        if on_progress is not None:
            await on_progress(seconds)

    log, _ = await asyncio.gather(_read_log(proc.stderr), _read_progress(proc.stdout, report))
    ok = await proc.wait() == 0
    _forget(proc)
    if on_progress is not None:
        metrics.ffmpeg_encoded(encoded[0], time.perf_counter() - started, ok=ok)
    if not ok:
        raise FFmpegError(argv, proc.returncode, _tail(log))
    return log


async def _read_log(stream: asyncio.StreamReader | None) -> str:
    """The last LOG_LINES lines of a stream, read in chunks (a line may be longer than a buffer)."""
    lines: deque[str] = deque(maxlen=LOG_LINES)
    pending = b""
    while stream is not None and (chunk := await stream.read(1 << 16)):
        *complete, pending = (pending + chunk).split(b"\n")
        lines.extend(line.decode(errors="replace") for line in complete)
        pending = pending[-(1 << 16) :]
    if pending:
        lines.append(pending.decode(errors="replace"))
    return "\n".join(lines)


async def _read_progress(stream: asyncio.StreamReader | None, on_progress: ProgressCallback | None) -> None:
    """Read `-progress` key=value lines and report `out_time_us` (seconds) to the callback."""
    if stream is None:
        return
    async for raw in stream:
        key, _, value = raw.decode(errors="replace").strip().partition("=")
        if on_progress is not None and key == "out_time_us" and value.lstrip("-").isdigit():
            await on_progress(max(0, int(value)) / 1e6)


def _tail(log: str) -> str:
    return "\n".join(log.splitlines()[-STDERR_TAIL_LINES:])


async def _kill(proc: asyncio.subprocess.Process) -> None:
    if proc.returncode is None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
    with contextlib.suppress(Exception):
        await asyncio.shield(proc.wait())
    _forget(proc)


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


async def probe(path: Path, *, timeout_s: float = 60.0) -> dict[str, Any]:
    """ffprobe's JSON description (format and streams) of a media file."""
    argv = ["ffprobe", "-v", "error", "-print_format", "json", "-show_format", "-show_streams", str(path)]
    info = json.loads(await _run(argv, timeout_s=timeout_s))
    if not isinstance(info, dict):
        raise FFmpegError(argv, 0, f"ffprobe printed {type(info).__name__}, not a JSON object")
    return info


async def media_duration(path: Path) -> float:
    """Container duration of a media file in seconds."""
    info = await probe(path)
    return float(info["format"]["duration"])
