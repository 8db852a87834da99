"""The ComfyUI keyframe and clip backends against a local ComfyUI double (real HTTP + WebSocket)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest
from PIL import Image

from app.core.errors import TerminalBackendError, TransientBackendError
from app.core.settings import Settings
from app.core.settings.comfyui import ComfyImageSettings, ComfyUISettings, ComfyVideoSettings
from app.services.clip.base import ClipRequest
from app.services.clip.comfyui import ComfyClipAnimator
from app.services.comfyui.client import ComfyClient
from app.services.comfyui.workflows import Values, load_workflow, patch
from app.services.keyframe.base import KeyframeRequest
from app.services.keyframe.comfyui import ComfyKeyframeRenderer
from app.services.registry import build
from tests.doubles.comfyui import ComfyDouble
from tests.doubles.serving import serve_in_thread
from tests.media import probe, stream, stream_duration
from tests.server import free_port

FAST = {"BACKOFF_BASE_S": 0.01, "BACKOFF_MAX_S": 0.05}


@pytest.fixture
def comfy(tmp_path: Path) -> Iterator[Callable[..., tuple[ComfyDouble, str]]]:
    """Start ComfyUI doubles; each call returns (double, base_url)."""
    with ExitStack() as stack:
        def start(**options) -> tuple[ComfyDouble, str]:
            double = ComfyDouble(tmp_path / f"comfy{free_port()}", **options)
            return double, stack.enter_context(serve_in_thread(double.app, health_path="/system_stats"))

        yield start


def common(*hosts: str, **changes) -> ComfyUISettings:
    return ComfyUISettings(HOSTS=",".join(hosts), POLL_INTERVAL_S=0.05, WS_OPEN_TIMEOUT_S=2, HTTP_TIMEOUT_S=5,
                           HOST_WAIT_S=20, **changes)


def renderer(*hosts: str, template: str = "qwen_image_t2i", **own) -> ComfyKeyframeRenderer:
    settings = ComfyImageSettings(**{"TEMPLATE": template, "TIMEOUT_S": 10, "RETRIES": 1, **FAST, **own})
    return ComfyKeyframeRenderer(common(*hosts), settings)


def keyframe(width: int = 320, height: int = 180, seed: int = 123456789) -> KeyframeRequest:
    return KeyframeRequest(story_title="雪夜", style="水彩", shot_id="shot-01", sequence=1, subject="小狐狸",
                           image_detail="水彩风格，小狐狸站在雪地里，清晨的光", camera="固定镜头", tone="温暖",
                           width=width, height=height, seed=seed)


def clip(keyframe_path: Path, duration: float = 1.5) -> ClipRequest:
    return ClipRequest(keyframe_path=keyframe_path, prompt="小狐狸转身跑开", prompts={"en": "The fox turns and runs."},
                       camera="固定镜头", duration=duration, width=320, height=180, fps=25, seed=99)


def still(path: Path) -> Path:
    Image.new("RGB", (320, 180), (200, 120, 40)).save(path)
    return path


async def test_keyframe_is_a_png_at_request_size_from_a_single_image_batch(comfy, tmp_path: Path):
    double, url = comfy()
    out = tmp_path / "k.png"
    await renderer(url).render(keyframe(), out)
    with Image.open(out) as image:
        assert (image.format, image.size) == ("PNG", (320, 180))
    [graph] = double.graphs
    assert graph["58"]["inputs"] == {"width": 1280, "height": 720, "batch_size": 1}
    assert graph["6"]["inputs"]["text"] == "水彩风格，小狐狸站在雪地里，清晨的光"
    assert graph["3"]["inputs"]["seed"] == 123456789
    assert double.ws_opened == 1
    assert [p["client_id"] for p in double.prompts][0]
    assert not list(tmp_path.glob(".k.png.*"))


async def test_template_with_batch_size_two_is_sent_as_one(comfy, tmp_path: Path):
    double, url = comfy()
    graph = load_workflow("qwen_image_t2i").graph
    graph["58"]["inputs"]["batch_size"] = 2  # the upstream's setting
    template = tmp_path / "upstream.json"
    template.write_text(json.dumps(graph))
    await renderer(url, template=str(template)).render(keyframe(), tmp_path / "k.png")
    assert double.graphs[0]["58"]["inputs"]["batch_size"] == 1
    assert len(next(iter(double.history.values()))["outputs"]["60"]["images"]) == 1


async def test_sdxl_keyframe_is_rendered_near_native_size_and_cropped(comfy, tmp_path: Path):
    double, url = comfy()
    out = tmp_path / "k.png"
    await renderer(url, template="sdxl_t2i").render(keyframe(width=400, height=180), out)
    size = double.graphs[0]["5"]["inputs"]
    assert size["width"] % 16 == 0 and size["height"] % 16 == 0 and size["width"] > size["height"]
    with Image.open(out) as image:
        assert image.size == (400, 180)


async def test_clip_is_an_mp4_of_the_shot_duration_and_size(comfy, tmp_path: Path):
    double, url = comfy()
    own = ComfyVideoSettings(TIMEOUT_S=20, RETRIES=0, **FAST)
    out = tmp_path / "clip.mp4"
    await ComfyClipAnimator(common(url), own, preset="ultrafast").animate(clip(still(tmp_path / "k.png")), out)
    video = stream(probe(out), "video")
    assert (video["codec_name"], video["width"], video["height"]) == ("h264", 320, 180)
    assert not [s for s in probe(out)["streams"] if s["codec_type"] == "audio"]
    assert stream_duration(out, "video") == pytest.approx(1.5, abs=0.05)
    [graph] = double.graphs
    assert graph["14"]["inputs"]["image"] == double.uploads[0]
    assert graph["16"]["inputs"]["text"] == "The fox turns and runs."
    assert graph["23"]["inputs"]["noise_seed"] == 99
    assert (graph["18"]["inputs"]["length"], graph["18"]["inputs"]["batch_size"]) == (37, 1)


async def test_clip_shorter_than_the_shot_holds_its_last_frame(comfy, tmp_path: Path):
    double, url = comfy()
    own = ComfyVideoSettings(TIMEOUT_S=20, RETRIES=0, MAX_FRAMES=13, **FAST)
    out = tmp_path / "clip.mp4"
    await ComfyClipAnimator(common(url), own, preset="ultrafast").animate(clip(still(tmp_path / "k.png"), 1.2), out)
    assert double.graphs[0]["18"]["inputs"]["length"] == 13  # about 0.54 s at 24 fps
    assert stream_duration(out, "video") == pytest.approx(1.2, abs=0.05)


async def test_node_errors_400_is_terminal_with_the_node_message_and_not_retried(comfy, tmp_path: Path):
    double, url = comfy()
    double.missing_models = {"qwen_image_fp8_e4m3fn.safetensors"}
    with pytest.raises(TerminalBackendError) as caught:
        await renderer(url, RETRIES=3).render(keyframe(), tmp_path / "k.png")
    assert caught.value.code == "prompt_outputs_failed_validation"
    assert caught.value.message == ("node 37 (UNETLoader): Value not in list: unet_name: "
                                    "'qwen_image_fp8_e4m3fn.safetensors' not in []")
    assert len(double.rejected) == 1 and not double.prompts


async def test_unknown_node_class_is_terminal_with_the_server_message(comfy, tmp_path: Path):
    double, url = comfy()
    graph = load_workflow("qwen_image_t2i").graph
    graph["70"] = {"class_type": "UltimateSDUpscale", "inputs": {"image": ["8", 0]}}
    template = tmp_path / "custom.json"
    template.write_text(json.dumps(graph))
    with pytest.raises(TerminalBackendError, match="Node 'UltimateSDUpscale' not found"):
        await renderer(url, template=str(template)).render(keyframe(), tmp_path / "k.png")
    assert len(double.rejected) == 1


async def test_execution_error_over_the_websocket_is_terminal_with_the_exception_message(comfy, tmp_path: Path):
    double, url = comfy()
    double.execution_error = {"node_type": "KSampler", "exception_type": "torch.OutOfMemoryError",
                              "exception_message": "Allocation on device"}
    with pytest.raises(TerminalBackendError) as caught:
        await renderer(url, RETRIES=3).render(keyframe(), tmp_path / "k.png")
    assert caught.value.code == "execution_error"
    assert caught.value.message == "node 3 (KSampler): torch.OutOfMemoryError: Allocation on device"
    assert len(double.prompts) == 1
    assert double.history_gets == 0  # the failure came over the WebSocket


async def test_execution_error_is_found_by_polling_when_the_websocket_is_refused(comfy, tmp_path: Path):
    double, url = comfy()
    double.refuse_ws = True
    double.execution_error = {"node_type": "VAEDecode", "exception_message": "bad latent"}
    with pytest.raises(TerminalBackendError, match=r"node 8 \(VAEDecode\): RuntimeError: bad latent"):
        await renderer(url).render(keyframe(), tmp_path / "k.png")
    assert len(double.prompts) == 1


async def test_refused_websocket_falls_back_to_polling_history(comfy, tmp_path: Path):
    double, url = comfy()
    double.refuse_ws = True
    out = tmp_path / "k.png"
    await renderer(url).render(keyframe(), out)
    assert double.ws_opened == 0 and double.history_gets >= 1
    with Image.open(out) as image:
        assert image.size == (320, 180)


async def test_websocket_dropped_mid_prompt_falls_back_to_polling_history(comfy, tmp_path: Path):
    double, url = comfy()
    double.drop_ws = True
    out = tmp_path / "k.png"
    await renderer(url).render(keyframe(), out)
    assert double.ws_dropped == 1 and double.history_gets >= 1 and out.stat().st_size > 0


async def test_hang_hits_the_overall_timeout_and_the_prompt_is_taken_off_the_host(comfy, tmp_path: Path):
    double, url = comfy()
    double.hang = True
    started = time.monotonic()
    with pytest.raises(TransientBackendError) as caught:
        await renderer(url, TIMEOUT_S=0.5, RETRIES=0).render(keyframe(), tmp_path / "k.png")
    assert time.monotonic() - started < 5
    assert caught.value.code == "timeout" and url in caught.value.message
    prompt_id = next(iter(double._tasks))
    assert double.queue_deletes == [prompt_id] and double.interrupts == [{"prompt_id": prompt_id}]


@pytest.mark.parametrize("targeted", [True, False], ids=["current-server", "old-server"])
async def test_timed_out_prompt_queued_behind_another_clients_never_interrupts_it(comfy, tmp_path: Path, targeted):
    double, url = comfy()
    double.hang, double.targeted_interrupt = True, targeted
    graph = patch(load_workflow("sdxl_t2i"), Values(prompt="a UI user's picture", seed=5, width=64, height=64))
    async with httpx.AsyncClient(base_url=url) as ui:  # someone else's job, running on the host
        theirs = (await ui.post("/prompt", json={"prompt": graph, "client_id": "ui-user"})).json()["prompt_id"]
    with pytest.raises(TransientBackendError) as caught:
        await renderer(url, TIMEOUT_S=0.5, RETRIES=0).render(keyframe(), tmp_path / "k.png")
    assert caught.value.code == "timeout"
    ours = next(p for p in double._tasks if p != theirs)
    assert double.queue_deletes == [ours] and ours not in [item[1] for item in double.pending]
    assert double.interrupts == [] and double.interrupted == []  # ours never ran: nothing to interrupt
    assert double.running is not None and double.running[1] == theirs and theirs not in double.history


async def test_timed_out_prompt_running_on_an_old_server_is_interrupted(comfy, tmp_path: Path):
    double, url = comfy()
    double.hang, double.targeted_interrupt = True, False
    with pytest.raises(TransientBackendError):
        await renderer(url, TIMEOUT_S=0.5, RETRIES=0).render(keyframe(), tmp_path / "k.png")
    [ours] = double._tasks
    assert double.interrupted == [ours]
    assert double.history[ours]["status"]["messages"][-1][0] == "execution_interrupted"


async def test_double_interrupt_follows_the_servers_generation(comfy):
    graph = patch(load_workflow("sdxl_t2i"), Values(prompt="x", seed=5, width=64, height=64))
    for targeted in (True, False):
        double, url = comfy()
        double.hang, double.targeted_interrupt = True, targeted
        async with httpx.AsyncClient(base_url=url) as client:
            first = (await client.post("/prompt", json={"prompt": graph})).json()["prompt_id"]
            second = (await client.post("/prompt", json={"prompt": graph})).json()["prompt_id"]
            while not double.running:
                await asyncio.sleep(0.01)
            queue = (await client.get("/queue")).json()
            assert [t[1] for t in queue["queue_running"]] == [first]
            assert [t[1] for t in queue["queue_pending"]] == [second]
            await client.post("/queue", json={"delete": [first]})  # running: the queue delete leaves it be
            await client.post("/interrupt", json={"prompt_id": second})  # a pending id
            await asyncio.sleep(0.1)
            running = (await client.get("/queue")).json()["queue_running"]
            if targeted:  # current servers: not the running prompt, nothing happens
                assert double.interrupted == [] and [t[1] for t in running] == [first]
            else:  # old servers ignore the body: the running prompt (someone else's) is stopped
                assert double.interrupted == [first] and [t[1] for t in running] == [second]
                assert double.history[first]["status"]["messages"][-1][0] == "execution_interrupted"


async def test_cancelled_render_takes_its_prompt_off_the_host(comfy, tmp_path: Path):
    double, url = comfy()
    double.hang = True
    own = ComfyImageSettings(TIMEOUT_S=10, RETRIES=0, **FAST)
    backend = ComfyKeyframeRenderer(common(url, USE_WEBSOCKET=False), own)
    task = asyncio.create_task(backend.render(keyframe(), tmp_path / "k.png"))
    while not double.history_gets:  # polling: the client has the prompt id
        await asyncio.sleep(0.02)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    prompt_id = next(iter(double._tasks))
    assert double.interrupts == [{"prompt_id": prompt_id}]
    assert double.history[prompt_id]["status"]["messages"][-1][0] == "execution_interrupted"


async def test_client_reports_sampler_progress_from_the_websocket(comfy):
    _, url = comfy(steps=4)
    workflow = load_workflow("sdxl_t2i")
    graph = patch(workflow, Values(prompt="a fox", seed=1, width=64, height=64))
    seen: list[float] = []
    async with ComfyClient(url, common(url)) as client:
        entry = await client.run(graph, timeout_s=10, progress=seen.append)
    assert seen == [0.25, 0.5, 0.75, 1.0]
    assert entry["status"]["status_str"] == "success" and entry["outputs"]["9"]["images"]


async def test_transient_500_on_prompt_is_retried_then_succeeds(comfy, tmp_path: Path):
    double, url = comfy()
    double.prompt_statuses = [500]
    out = tmp_path / "k.png"
    await renderer(url, RETRIES=2).render(keyframe(), out)
    assert len(double.rejected) == 1 and len(double.prompts) == 1
    assert out.stat().st_size > 0


async def test_two_hosts_take_one_job_each_and_a_third_job_waits(comfy, tmp_path: Path):
    (first, url_a), (second, url_b) = comfy(steps=6, step_s=0.05), comfy(steps=6, step_s=0.05)
    backend = renderer(url_a, url_b)
    outs = [tmp_path / f"k{i}.png" for i in range(3)]
    await asyncio.gather(*(backend.render(keyframe(seed=i), out) for i, out in enumerate(outs)))
    assert first.max_outstanding == 1 and second.max_outstanding == 1
    assert sorted([len(first.prompts), len(second.prompts)]) == [1, 2]
    assert all(out.stat().st_size > 0 for out in outs)


async def test_two_concurrent_renders_land_on_different_hosts(comfy, tmp_path: Path):
    (first, url_a), (second, url_b) = comfy(steps=6, step_s=0.05), comfy(steps=6, step_s=0.05)
    backend = renderer(url_a, url_b)
    await asyncio.gather(*(backend.render(keyframe(seed=i), tmp_path / f"k{i}.png") for i in range(2)))
    assert len(first.prompts) == 1 and len(second.prompts) == 1


async def test_readiness_names_the_down_host(comfy):
    _, url = comfy()
    down = f"http://127.0.0.1:{free_port()}"
    report = await renderer(url, down).ready()
    assert not report.ready and down in report.detail and url not in report.detail
    assert (await renderer(url).ready()).ready


async def test_clip_readiness_checks_the_hosts(comfy):
    _, url = comfy()
    assert (await ComfyClipAnimator(common(url), ComfyVideoSettings()).ready()).ready


def test_registry_builds_both_backends_from_comfyui_settings(monkeypatch):
    monkeypatch.setenv("COMFYUI_HOSTS", "http://gpu-1:8188,http://gpu-2:8188")
    monkeypatch.setenv("COMFYUI_IMAGE_TEMPLATE", "sdxl_t2i")
    monkeypatch.setenv("COMFYUI_VIDEO_MAX_FRAMES", "61")
    image = build("keyframe", "comfyui", Settings())
    video = build("clip", "comfyui", Settings())
    assert image.workflow.name == "sdxl_t2i" and image.jobs.hosts == ("http://gpu-1:8188", "http://gpu-2:8188")
    assert video.workflow.name == "hunyuan15_i2v" and video.own.MAX_FRAMES == 61
