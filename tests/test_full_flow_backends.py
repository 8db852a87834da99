"""The create → regenerate → render flow through a real server, once on the local GPU set
(LOCAL_INFERENCE=true: Ollama, ComfyUI, HunyuanVideo-1.5, CosyVoice) and once on the cloud set
(DashScope Qwen / wan / CosyVoice, Pixverse, OSS), each vendor played by its protocol double."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from starlette.types import Receive, Scope, Send

from tests.doubles.comfyui import ComfyDouble
from tests.doubles.cosyvoice import serve_cosyvoice
from tests.doubles.dashscope import DashScopeDouble
from tests.doubles.dashscope_qwen import QwenDouble
from tests.doubles.hunyuan import serve_hunyuan
from tests.doubles.ollama import serve_ollama
from tests.doubles.oss import serve_oss
from tests.doubles.pixverse import serve_pixverse
from tests.doubles.serving import serve_in_thread
from tests.media import probe, stream
from tests.server import wait_for

SMALL = {"VIDEO_WIDTH": "480", "VIDEO_HEIGHT": "272", "MAX_PARALLEL_SHOTS": "1", "LOG_LEVEL": "INFO"}
IDS = {"story_id": "story-b", "user_id": "u-1"}
CREATE = {**IDS, "operation_id": "op-c", "display_name": "小狐狸找妈妈", "style": "水彩绘本",
          "script_content": "小狐狸阿橘醒来发现妈妈不见了，它跑过山坡、跳过小河，终于在老橡树下找到了妈妈。"}
REGEN = {**IDS, "operation_id": "op-g", "shot_id": "shot_02",
         "detail": "先是阿橘停下脚步，然后回头张望，最后继续奔跑。"}


def run_flow(service, tmp_path: Path, *, degraded_first_render: bool = False) -> dict:
    """create → regenerate shot_02 → render; returns the render operation."""
    with service.client() as client:
        assert client.post("/api/v1/storyboard/create", json=CREATE).status_code == 202
        created = wait_for(client, "op-c")
        assert created["status"] == "succeeded", (created["error"], service.log())
        assert created["result"]["degraded"] is None and created["result"]["degraded_shots"] == []
        assert client.post("/api/v1/shot/regenerate", json=REGEN).status_code == 202
        regen = wait_for(client, "op-g")
        assert regen["status"] == "succeeded", regen["error"]
        shot = regen["result"]["shot"]
        assert shot["detail"] == REGEN["detail"] and shot["keyframe_version"] == 2 and shot["degraded"] is None
        assert client.post("/api/v1/video/render", json={**IDS, "operation_id": "op-r"}).status_code == 202
        rendered = wait_for(client, "op-r")
        assert rendered["status"] == "succeeded", rendered["error"]
        if not degraded_first_render:
            assert rendered["result"]["degraded_shots"] == []
        film = tmp_path / "film.mp4"
        film.write_bytes(client.get(rendered["result"]["video_url"]).content)
    info = probe(film)
    assert (stream(info, "video")["codec_name"], stream(info, "audio")["codec_name"]) == ("h264", "aac")
    assert (stream(info, "video")["width"], stream(info, "video")["height"]) == (480, 272)
    return rendered


def test_local_inference_set_renders_through_every_local_double(start_service, tmp_path):
    with ExitStack() as stack:
        ollama = stack.enter_context(serve_ollama())
        comfy = ComfyDouble(tmp_path / "comfy")
        comfy_url = stack.enter_context(serve_in_thread(comfy.app, health_path="/system_stats"))
        hunyuan = stack.enter_context(serve_hunyuan())
        cosy = stack.enter_context(serve_cosyvoice())
        service = start_service({
            **SMALL, "LOCAL_INFERENCE": "true", "OLLAMA_HOST": ollama.base_url, "COMFYUI_HOSTS": comfy_url,
            "HUNYUAN_BASE_URL": hunyuan.base_url, "HUNYUAN_POLL_INTERVAL_S": "0.05",
            "COSYVOICE_BASE_URL": cosy.base_url})
        with service.client() as client:
            ready = client.get("/readyz").json()
        assert ready["ready"], ready
        assert {b["backend"] for b in ready["backends"]} >= {"ollama", "comfyui", "hunyuan", "cosyvoice"}
        rendered = run_flow(service, tmp_path)
        shots = rendered["result"]["shots"]
        assert len(ollama.script.bodies("/api/chat")) == 2  # the plan and the regenerate
        assert hunyuan.count("submit") == len(shots)
        assert cosy.count("tts") >= len(shots)


@contextmanager
def serve_dashscope(api_key: str) -> Iterator[tuple[DashScopeDouble, QwenDouble, str]]:
    """One DashScope endpoint, as the real one: text generation goes to the Qwen double, the rest to the
    media double (tasks, image/video synthesis, the TTS WebSocket)."""
    media, qwen = DashScopeDouble(api_key), QwenDouble(api_key)
    qwen_app = qwen.app()

    async def dispatch(scope: Scope, receive: Receive, send: Send) -> None:
        text = scope["type"] in ("http", "websocket") and "text-generation" in scope.get("path", "")
        await (qwen_app if text else media.app)(scope, receive, send)

    with serve_in_thread(dispatch, health_path="/api/v1/tasks/none") as base_url:
        try:
            yield media, qwen, base_url
        finally:
            qwen.release()


def test_cloud_set_renders_through_every_cloud_double_and_degrades_one_failed_clip(start_service, tmp_path):
    key = "sk-double"
    with ExitStack() as stack:
        media, qwen, dashscope_url = stack.enter_context(serve_dashscope(key))
        pixverse = stack.enter_context(serve_pixverse())
        oss = stack.enter_context(serve_oss(accept_v1=False))  # a new bucket: V4 signatures only
        # the first clip Pixverse makes is refused by its moderation: that shot falls back to Ken Burns
        pixverse.errcodes["generate"].append((500054, "The generated content may violate the policy"))
        service = start_service({
            **SMALL, "LOCAL_INFERENCE": "false", "DASHSCOPE_API_KEY": key,
            "DASHSCOPE_BASE_HTTP_URL": f"{dashscope_url}/api/v1", "DASHSCOPE_POLL_INTERVAL_S": "0.05",
            "DASHSCOPE_BASE_WS_URL": dashscope_url.replace("http", "ws") + "/api-ws/v1/inference",
            "PIXVERSE_BASE_URL": pixverse.base_url, "PIXVERSE_API_KEY": "pv-test-key",
            "PIXVERSE_POLL_INTERVAL_S": "0.05", "OSS_ENDPOINT": oss.base_url, "OSS_BUCKET": oss.bucket,
            "OSS_ACCESS_KEY_ID": oss.key_id, "OSS_ACCESS_KEY_SECRET": oss.secret, "OSS_REGION": oss.region})
        rendered = run_flow(service, tmp_path, degraded_first_render=True)
        degraded = rendered["result"]["degraded_shots"]
        assert [(d["shot_id"], d["stage"]) for d in degraded] == [("shot_01", "clip")]
        assert "500054" in degraded[0]["reason"] and "policy" in degraded[0]["reason"]
        assert rendered["result"]["video_url"].startswith(oss.base_url)
        assert any(k.endswith(".mp4") for k in oss.objects) and set(oss.signatures) == {"v4"}
        assert len(qwen.script.bodies("/api/v1/services/aigc/text-generation/generation")) == 2
        assert media.tts_runs and media.submissions

        # the next render retries the degraded shot on Pixverse, and only that shot
        generated = pixverse.calls.count("generate")
        with service.client() as client:
            client.post("/api/v1/video/render", json={**IDS, "operation_id": "op-r2"})
            again = wait_for(client, "op-r2")
        assert again["status"] == "succeeded" and again["result"]["degraded_shots"] == []
        assert pixverse.calls.count("generate") == generated + 1
        assert all(s["degraded"] is None for s in again["result"]["shots"])
    assert key not in service.log() and oss.secret not in service.log()
