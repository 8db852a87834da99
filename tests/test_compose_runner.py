"""The FFmpeg runner: logs, progress, failures, timeouts, piping producers into one encoder, and
cancellation that leaves no FFmpeg process and no temporary file behind."""

from __future__ import annotations

import asyncio
import os
import subprocess
from pathlib import Path

import pytest

from app.core.errors import FFmpegError
from app.services.compose import ComposeOptions, ShotMedia, compose_story
from app.services.ffmpeg import ffmpeg_argv, run_ffmpeg, run_ffmpeg_piped

pytestmark = pytest.mark.slow

W, H = 32, 16
FRAME = W * H * 3 // 2


def child_ffmpegs() -> list[int]:
    """PIDs of FFmpeg processes whose parent is this test process."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        name, fields = stat[stat.index("(") + 1 : stat.rindex(")")], stat[stat.rindex(")") + 2 :].split()
        if name == "ffmpeg" and int(fields[1]) == os.getpid():
            found.append(int(entry.name))
    return found


def producer(colour: str, frames: int) -> list[str]:
    return ["-f", "lavfi", "-i", f"color=c={colour}:s={W}x{H}:r=25", "-frames:v", str(frames),
            "-f", "rawvideo", "-pix_fmt", "yuv420p", "pipe:1"]  # fmt: skip


def consumer(out: Path) -> list[str]:
    return ["-f", "rawvideo", "-pix_fmt", "yuv420p", "-s", f"{W}x{H}", "-framerate", "25", "-i", "pipe:0",
            "-c:v", "rawvideo", "-f", "rawvideo", str(out)]  # fmt: skip


def test_argv_always_hides_the_banner_and_reports_progress_on_request() -> None:
    assert ffmpeg_argv(["-i", "x"])[:6] == ["ffmpeg", "-hide_banner", "-nostdin", "-nostats", "-loglevel", "error"]
    assert ["-progress", "pipe:1"] == ffmpeg_argv([], progress=True)[7:9]


def test_run_ffmpeg_returns_the_log_and_reports_progress() -> None:
    seen: list[float] = []

    async def record(seconds: float) -> None:
        seen.append(seconds)

    log = asyncio.run(run_ffmpeg(["-f", "lavfi", "-i", "sine=d=2", "-af", "ebur128=framelog=verbose", "-f", "null",
                                  "-"], loglevel="info", on_progress=record))  # fmt: skip
    assert "Summary:" in log
    assert seen and seen == sorted(seen) and seen[-1] == pytest.approx(2.0, abs=0.1)


def test_a_failing_run_raises_with_the_end_of_ffmpegs_log() -> None:
    with pytest.raises(FFmpegError) as caught:
        asyncio.run(run_ffmpeg(["-i", "/no/such/input.mp4", "-f", "null", "-"]))
    assert "/no/such/input.mp4" in caught.value.stderr_tail and caught.value.returncode != 0


def test_a_run_past_its_timeout_is_killed() -> None:
    with pytest.raises(TimeoutError):
        asyncio.run(run_ffmpeg(["-re", "-f", "lavfi", "-i", "anullsrc", "-f", "null", "-"], timeout_s=0.5))
    assert child_ffmpegs() == []


def test_cancelling_a_run_kills_ffmpeg() -> None:
    async def scenario() -> None:
        task = asyncio.create_task(run_ffmpeg(["-re", "-f", "lavfi", "-i", "anullsrc", "-f", "null", "-"]))
        await asyncio.sleep(0.5)
        assert child_ffmpegs(), "FFmpeg should be running"
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(scenario())
    assert child_ffmpegs() == []


def test_producers_feed_the_consumer_in_order(tmp_path: Path) -> None:
    out = tmp_path / "out.yuv"
    frames = [("red", 3), ("blue", 5), ("white", 2)]
    asyncio.run(run_ffmpeg_piped([producer(c, n) for c, n in frames], consumer(out)))
    data = out.read_bytes()
    assert len(data) == 10 * FRAME
    lumas = [data[i * FRAME] for i in range(10)]  # Y of each frame's first pixel: red < blue? no: blue < red < white
    assert lumas[:3] == [lumas[0]] * 3 and lumas[3:8] == [lumas[3]] * 5 and lumas[8:] == [lumas[8]] * 2
    assert lumas[3] < lumas[0] < lumas[8]


def test_a_failing_producer_stops_everything(tmp_path: Path) -> None:
    broken = ["-i", "/no/such/clip.mp4", "-f", "rawvideo", "pipe:1"]
    with pytest.raises(FFmpegError) as caught:
        asyncio.run(run_ffmpeg_piped([producer("red", 3), broken, producer("blue", 3)], consumer(tmp_path / "o")))
    assert "/no/such/clip.mp4" in caught.value.stderr_tail
    assert child_ffmpegs() == []


def test_a_failing_consumer_is_reported(tmp_path: Path) -> None:
    bad = ["-f", "rawvideo", "-pix_fmt", "yuv420p", "-s", f"{W}x{H}", "-i", "pipe:0", "-c:v", "no_such_codec",
           str(tmp_path / "o.mp4")]  # fmt: skip
    with pytest.raises(FFmpegError) as caught:
        asyncio.run(run_ffmpeg_piped([producer("red", 500), producer("blue", 500)], bad))
    assert "no_such_codec" in caught.value.stderr_tail or "Unknown encoder" in caught.value.stderr_tail
    assert child_ffmpegs() == []


def test_cancelling_a_piped_run_kills_producers_and_encoder(tmp_path: Path) -> None:
    async def scenario() -> None:
        slow = ["-re", "-f", "lavfi", "-i", f"color=c=red:s={W}x{H}:r=25", "-t", "30", "-f", "rawvideo",
                "-pix_fmt", "yuv420p", "pipe:1"]  # fmt: skip
        task = asyncio.create_task(run_ffmpeg_piped([slow, slow], consumer(tmp_path / "o.yuv")))
        await asyncio.sleep(0.8)
        assert len(child_ffmpegs()) >= 2, "the encoder and a producer should be running"
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(scenario())
    assert child_ffmpegs() == []


def test_cancelling_a_composition_kills_ffmpeg_and_removes_its_files(tmp_path: Path) -> None:
    clip, wav = tmp_path / "clip.mp4", tmp_path / "tone.wav"
    subprocess.run(["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc2=s=640x360:r=25:d=1", "-c:v", "libx264",
                    "-preset", "ultrafast", str(clip)], check=True)  # fmt: skip
    subprocess.run(["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "sine=d=1", str(wav)], check=True)
    shots = [ShotMedia(shot_id=f"s{i}", clip_path=clip, audio_path=wav, duration=30.0, narration="Hello.")
             for i in range(2)]  # fmt: skip
    out = tmp_path / "out"
    (out).mkdir()
    (out / "video.mp4").write_bytes(b"old")

    async def scenario() -> None:
        encoding = asyncio.Event()

        async def progress(share: float) -> None:
            if 0.1 < share < 1:
                encoding.set()

        options = ComposeOptions(width=640, height=360, preset="medium")
        task = asyncio.create_task(compose_story(shots=shots, out_dir=out, options=options, on_progress=progress))
        await asyncio.wait_for(encoding.wait(), 60)
        assert child_ffmpegs()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(scenario())
    assert child_ffmpegs() == []
    assert sorted(p.name for p in out.iterdir()) == ["video.mp4"]
    assert (out / "video.mp4").read_bytes() == b"old"
