"""Keeping the GPUs busy: each shot's clip follows its own narration, a HunyuanVideo pool runs one job per
host and survives a failing host, ComfyUI hands its result over promptly, and progress shows what happens
inside a clip (timestamps and steps from the doubles)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
from PIL import Image

from app.core.settings.comfyui import ComfyImageSettings, ComfyUISettings
from app.core.settings.vendors import HunyuanSettings
from app.models.operation import Progress
from app.models.requests import CreateStoryboardRequest, RenderVideoRequest
from app.services.clip.base import ClipRequest
from app.services.clip.hunyuan import HunyuanAnimator
from app.services.keyframe.base import KeyframeRequest
from app.services.keyframe.comfyui import ComfyKeyframeRenderer
from app.services.scheduling import host_pool, work_scope
from tests.doubles.comfyui import ComfyDouble
from tests.doubles.cosyvoice import CosyVoiceDouble, serve_cosyvoice
from tests.doubles.hunyuan import HunyuanDouble, serve_hunyuan
from tests.doubles.serving import serve_in_thread
from tests.inproc import Service, service
from tests.server import free_port

IDS = {"story_id": "story-p", "user_id": "u-1"}
CREATE = CreateStoryboardRequest(operation_id="op-c", display_name="Fox", style="paper cut", **IDS,
                                 script_content="A fox wakes up. It looks for its mother. It runs over the hill. "
                                                "It jumps the river. It finds her under the oak. They sleep.")
RENDER = RenderVideoRequest(operation_id="op-r", **IDS)
FAST = {"POLL_INTERVAL_S": 0.05, "REQUEST_TIMEOUT_S": 5, "RETRIES": 0, "BACKOFF_BASE_S": 0.01,
        "BACKOFF_MAX_S": 0.02, "HOST_COOLDOWN_S": 30}


def hunyuan_doubles(stack: ExitStack, count: int, latency_s: float) -> list[HunyuanDouble]:
    return [stack.enter_context(serve_hunyuan(latency_s=latency_s)) for _ in range(count)]


def gpu_settings(cosy: CosyVoiceDouble, hosts: list[str], **extra: object) -> dict[str, object]:
    """The local GPU servers for narration and clips (storyboard and keyframes embedded), no fallback."""
    return {"NARRATION_PROVIDER": "cosyvoice", "NARRATION_FALLBACK": "none", "COSYVOICE_BASE_URL": cosy.base_url,
            "CLIP_PROVIDER": "hunyuan", "CLIP_FALLBACK": "none", "HUNYUAN_BASE_URLS": ",".join(hosts),
            "HUNYUAN_POLL_INTERVAL_S": 0.5, **extra}


async def rendered(svc: Service) -> None:
    assert (await svc.run(CREATE)).status == "succeeded"
    op = await svc.run(RENDER)
    assert op.status == "succeeded", op.error
    assert op.stages_done == ["narration", "clip", "compose", "publish"]  # each stage event once, in order


async def test_a_shots_clip_starts_before_the_last_narration_ends(tmp_path: Path) -> None:
    with ExitStack() as stack:
        cosy = stack.enter_context(serve_cosyvoice(latency_s=0.6))
        gpus = hunyuan_doubles(stack, 2, latency_s=0.5)
        async with service(tmp_path, **gpu_settings(cosy, [g.base_url for g in gpus])) as svc:
            await rendered(svc)
    narration_ends = [end for _, _, end in cosy.spans]
    clip_starts = sorted(start for gpu in gpus for _, start, _ in gpu.runs)
    assert len(narration_ends) == len(clip_starts) == 4
    assert clip_starts[0] < max(narration_ends) - 0.5  # the first clip ran while narration went on
    assert all(gpu.runs for gpu in gpus)  # both GPUs took clips


async def test_progress_shows_waiting_for_a_gpu_rendering_on_it_and_the_steps_inside_a_clip(tmp_path: Path) -> None:
    snapshots: list[Progress] = []
    with ExitStack() as stack:
        cosy = stack.enter_context(serve_cosyvoice())
        [gpu] = hunyuan_doubles(stack, 1, latency_s=1.5)
        async with service(tmp_path, **gpu_settings(cosy, [gpu.base_url])) as svc:
            assert (await svc.run(CREATE)).status == "succeeded"
            watch = asyncio.create_task(watch_progress(svc, "op-r", snapshots))
            op = await svc.run(RENDER)
            watch.cancel()
    assert op.status == "succeeded", op.error
    clip_states = [{sid: (p.state, p.step, p.total) for sid, p in s.shot_progress.items() if p.stage == "clip"}
                   for s in snapshots]
    one_gpu = [states for states in clip_states
               if any(state == "waiting" for state, _, _ in states.values())
               and any(state == "rendering" and step and 0 < step < total for state, step, total in states.values())]
    assert one_gpu, clip_states  # one shot renders at step k of n while the others wait for the GPU
    assert any(s.shots.get(sid) == "waiting" for s in snapshots for sid in s.shots)  # the plain map says it too
    percents = [s.percent for s in snapshots if s.stage == "clip"]
    assert any(p % (100 / snapshots[-1].total) for p in percents)  # moves inside a clip, not only per clip
    assert op.progress.shots == dict.fromkeys(op.progress.shots, "done")


async def watch_progress(svc: Service, operation_id: str, seen: list[Progress]) -> None:
    while True:
        op = await svc.store.get_operation(operation_id)
        if op is not None and (not seen or op.progress != seen[-1]):
            seen.append(op.progress)
        await asyncio.sleep(0.05)


# ------------------------------------------------------------------------------------------ HunyuanVideo pool


@pytest.fixture
def keyframe(tmp_path: Path) -> Path:
    path = tmp_path / "keyframe.png"
    Image.new("RGB", (320, 180), (200, 120, 40)).save(path)
    return path


def clip_request(keyframe: Path, seed: int) -> ClipRequest:
    return ClipRequest(keyframe_path=keyframe, prompt="a fox runs", camera="pan", duration=1.0, width=320,
                       height=180, fps=12, seed=seed)


@pytest.fixture
def gpus() -> Iterator[list[HunyuanDouble]]:
    with ExitStack() as stack:
        yield hunyuan_doubles(stack, 3, latency_s=1.0)


async def animate_all(backend: HunyuanAnimator, keyframe: Path, count: int) -> None:
    try:
        await asyncio.gather(*(backend.animate(clip_request(keyframe, i), keyframe.with_name(f"c{i}.mp4"))
                               for i in range(count)))
    finally:
        await backend.aclose()


async def test_a_pool_of_three_hosts_runs_three_clips_at_once(gpus: list[HunyuanDouble], keyframe: Path) -> None:
    backend = HunyuanAnimator(HunyuanSettings(BASE_URLS=",".join(g.base_url for g in gpus), **FAST), preset="ultrafast")
    await animate_all(backend, keyframe, 3)
    assert [len(g.runs) for g in gpus] == [1, 1, 1]
    runs = [run for g in gpus for run in g.runs]
    assert max(start for _, start, _ in runs) < min(end for _, _, end in runs)  # all three at once


async def test_a_pool_survives_a_host_that_fails_and_cools_it_down(gpus: list[HunyuanDouble], keyframe: Path) -> None:
    first, broken, third = gpus
    broken.http_errors["submit"].extend([500] * 10)
    down = f"http://127.0.0.1:{free_port()}"
    hosts = [first.base_url, broken.base_url, down, third.base_url]
    backend = HunyuanAnimator(HunyuanSettings(BASE_URLS=",".join(hosts), **FAST), preset="ultrafast")
    readiness = await backend.ready()
    await animate_all(backend, keyframe, 5)
    assert all(keyframe.with_name(f"c{i}.mp4").stat().st_size > 0 for i in range(5))
    assert len(first.runs) + len(third.runs) == 5 and broken.runs == []
    assert broken.count("submit") == 1  # tried once, then left alone while it cools down
    assert host_pool().cooling(broken.base_url) and host_pool().cooling(down)
    assert not readiness.ready and down in readiness.detail and "HunyuanVideo host down" in readiness.detail


async def test_a_one_host_pool_is_hunyuan_base_url_and_its_clip_holds_the_host_only_for_the_job(
        keyframe: Path) -> None:
    with serve_hunyuan(latency_s=0.3) as gpu:
        settings = HunyuanSettings(BASE_URL=gpu.base_url, **FAST)
        assert settings.host_urls == (gpu.base_url,)
        gpu.hang.add("video")  # downloads wait until released
        clips = asyncio.create_task(animate_all(HunyuanAnimator(settings, preset="ultrafast"), keyframe, 2))
        async with asyncio.timeout(10):
            while gpu.count("submit") < 2:
                await asyncio.sleep(0.02)
        gpu.release()  # the second job went to the host while the first clip's download was still waiting
        await clips
    assert len(gpu.runs) == 2 and gpu.count("video") == 2


async def test_the_hunyuan_client_reports_the_servers_steps(keyframe: Path) -> None:
    seen: list[tuple[str, int | None, int | None]] = []
    with serve_hunyuan(latency_s=1.0) as gpu:
        backend = HunyuanAnimator(HunyuanSettings(BASE_URL=gpu.base_url, **{**FAST, "POLL_INTERVAL_S": 0.2}),
                                  preset="ultrafast")
        with work_scope("story", lambda state, step, total: seen.append((state, step, total))):
            await animate_all(backend, keyframe, 1)
    steps = [step for state, step, total in seen if state == "rendering" and total == 50 and step is not None]
    assert steps and 0 < steps[-1] < 50 and steps == sorted(steps)


# ------------------------------------------------------------------------------------------ ComfyUI


async def test_comfyui_result_is_fetched_promptly_after_success_even_with_a_long_poll(tmp_path: Path) -> None:
    double = ComfyDouble(tmp_path / "comfy", steps=2, step_s=0.05)
    double.history_lag_s = 0.1  # /history is empty for a while after execution_success
    with serve_in_thread(double.app, health_path="/system_stats") as url:
        common = ComfyUISettings(HOSTS=url, POLL_INTERVAL_S=2.0, WS_OPEN_TIMEOUT_S=2, HTTP_TIMEOUT_S=5)
        backend = ComfyKeyframeRenderer(common, ComfyImageSettings(TIMEOUT_S=10, RETRIES=0))
        request = KeyframeRequest(story_title="t", style="s", shot_id="shot_01", sequence=1, subject="a fox",
                                  image_detail="a fox in snow", camera="fixed", tone="calm", width=320, height=180,
                                  seed=1)
        try:
            await backend.render(request, tmp_path / "k.png")
            finished = time.time()
        finally:
            await backend.aclose()
    [(_, _, ended)] = double.runs
    assert finished - ended < 1.0 and double.history_gets >= 2  # re-read soon, not after the 2 s poll
