"""Each pipeline step turns what fails inside it into `<stage>_failed` with the real reason (in process)."""

from __future__ import annotations

from pathlib import Path

from app.models.requests import CreateStoryboardRequest, RenderVideoRequest
from tests.doubles.llm_script import Reply
from tests.doubles.ollama import serve_ollama
from tests.inproc import Service, service
from tests.server import free_port

IDS = {"story_id": "story-x", "user_id": "u-1"}
CREATE = CreateStoryboardRequest(operation_id="op-c", display_name="Fox", style="paper cut",
                                 script_content="A fox looks for the moon. It climbs a hill.", **IDS)
RENDER = RenderVideoRequest(operation_id="op-r", **IDS)


async def created(svc: Service) -> None:
    op = await svc.run(CREATE)
    assert op.status == "succeeded", op.error


def error_of(op) -> tuple[str, str, str | None]:  # type: ignore[no-untyped-def]
    assert op.status == "failed"
    return op.error.code, op.error.stage, op.error.shot_id


async def test_a_planner_answering_garbage_is_storyboard_failed(tmp_path: Path) -> None:
    with serve_ollama() as double:
        double.script.push(Reply("this is not a storyboard"), Reply("{}"))
        async with service(tmp_path, STORYBOARD_PROVIDER="ollama", STORYBOARD_FALLBACK="none",
                           OLLAMA_HOST=double.base_url, OLLAMA_REPLY_RETRIES=1) as svc:
            op = await svc.run(CREATE)
    assert error_of(op) == ("storyboard_failed", "storyboard", None)
    assert "invalid_reply" in op.error.message


async def test_a_refused_keyframe_is_keyframe_failed_naming_the_shot(tmp_path: Path) -> None:
    async with service(tmp_path, KEYFRAME_PROVIDER="tests.fakes:refusing_keyframes", KEYFRAME_FALLBACK="none") as svc:
        op = await svc.run(CREATE)
    assert error_of(op) == ("keyframe_failed", "keyframe", "shot_01")
    assert "DataInspectionFailed" in op.error.message


async def test_a_speech_server_that_is_down_is_narration_failed(tmp_path: Path) -> None:
    async with service(tmp_path, NARRATION_PROVIDER="cosyvoice", NARRATION_FALLBACK="none",
                       COSYVOICE_BASE_URL=f"http://127.0.0.1:{free_port()}", COSYVOICE_RETRIES=0) as svc:
        await created(svc)
        op = await svc.run(RENDER)
    code, stage, shot_id = error_of(op)
    assert (code, stage) == ("narration_failed", "narration") and shot_id and shot_id.startswith("shot_")
    assert "connection_failed" in op.error.message


async def test_a_failing_clip_backend_is_clip_failed(tmp_path: Path) -> None:
    async with service(tmp_path, CLIP_PROVIDER="tests.fakes:broken_clips", CLIP_FALLBACK="none") as svc:
        await created(svc)
        op = await svc.run(RENDER)
    assert error_of(op) == ("clip_failed", "clip", "shot_01")
    assert "GPU server unavailable" in op.error.message


async def test_a_corrupt_clip_is_compose_failed_with_ffmpegs_reason(tmp_path: Path) -> None:
    async with service(tmp_path, CLIP_PROVIDER="tests.fakes:corrupt_clips", CLIP_FALLBACK="none") as svc:
        await created(svc)
        op = await svc.run(RENDER)
    code, stage, _ = error_of(op)
    assert (code, stage) == ("compose_failed", "compose")
    assert "compose failed" in op.error.message and len(op.error.message) > len("compose failed: ")


async def test_storage_refusing_the_film_is_publish_failed(tmp_path: Path) -> None:
    async with service(tmp_path, PUBLISH_PROVIDER="tests.fakes:refusing_store") as svc:
        await created(svc)
        op = await svc.run(RENDER)
        story = await svc.store.get_story("story-x")
    assert error_of(op) == ("publish_failed", "publish", None)
    assert "AccessDenied" in op.error.message
    assert story is not None and story.video is None


async def test_an_enhancement_service_that_is_down_is_enhance_failed_without_a_fallback(tmp_path: Path) -> None:
    async with service(tmp_path, ENHANCE_URL=f"http://127.0.0.1:{free_port()}", ENHANCE_RETRIES=0,
                       ENHANCE_FALLBACK="none") as svc:
        await created(svc)
        op = await svc.run(RenderVideoRequest(operation_id="op-e", enhance=True, **IDS))
    assert error_of(op) == ("enhance_failed", "enhance", "shot_01")
    assert "connection_failed" in op.error.message
