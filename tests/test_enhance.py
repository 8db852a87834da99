"""The enhance stage in process: the film's format, the embedded engine, what a repeated or changed render redoes,
and what happens when the enhancement service is down (skip and say so, or fail with enhance_failed)."""

from __future__ import annotations

import asyncio
import subprocess
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest

from app.core.settings import Settings
from app.models import freshness
from app.models.render import RenderOverrides
from app.models.requests import CreateStoryboardRequest, RenderVideoRequest
from app.services import compose
from app.services.enhance.base import EnhanceRequest
from app.services.enhance.embedded import EmbeddedEnhancer, enhance_args, sample_size
from app.services.enhance.http import job_params
from app.services.health import Health
from app.services.readiness import readiness_report
from tests.inproc import SMALL, Service, service
from tests.media import video_facts
from tests.receiver import CallbackReceiver
from tests.server import free_port

IDS = {"story_id": "story-e", "user_id": "u-1"}
SCRIPT = "A fox looks for the moon. It climbs the hill."


def small(**settings: Any) -> Settings:
    return Settings(**{**SMALL, **settings})


# ------------------------------------------------------------------------------------------ the film's format


def test_the_film_format_follows_the_request_over_the_settings() -> None:
    plain = freshness.film_format("16:9", small())
    assert (plain.width, plain.height, plain.fps, plain.enhances_clips) == (320, 180, 12, False)
    asked = freshness.film_format("16:9", small(), RenderOverrides(enhance=True, multi=2, scale=2))
    assert (asked.width, asked.height, asked.fps, asked.multi, asked.enhances_clips) == (640, 360, 24, 2, True)
    by_setting = freshness.film_format("16:9", small(ENHANCE=True, ENHANCE_MULTI=4, ENHANCE_SCALE=3))
    assert (by_setting.width, by_setting.height, by_setting.fps) == (960, 540, 48)
    refused = freshness.film_format("16:9", small(ENHANCE=True), {"enhance": False})
    assert (refused.width, refused.fps, refused.enhances_clips) == (320, 12, False)
    portrait = freshness.film_format("9:16", small(), {"enhance": True, "scale": 2, "multi": 1})
    assert (portrait.width, portrait.height, portrait.fps) == (360, 640, 12)
    nothing_to_do = freshness.film_format("16:9", small(), {"enhance": True, "scale": 1, "multi": 1})
    assert not nothing_to_do.enhances_clips


def test_the_cap_keeps_the_shape_and_lowers_multi() -> None:
    capped = freshness.film_format("16:9", small(ENHANCE_MAX_PIXELS=400 * 225, ENHANCE_MAX_FPS=30),
                                   {"enhance": True, "scale": 4, "multi": 4})
    assert (capped.width, capped.height) == (400, 224) and capped.width * capped.height <= 400 * 225
    assert (capped.fps, capped.multi) == (24, 2)  # 12 × 3 = 36 > 30, so 2
    default = freshness.film_format("16:9", Settings(), {"enhance": True, "scale": 4, "multi": 4})
    assert (default.width, default.height, default.fps) == (3840, 2160, 50)  # 5120×2880 capped, 100 fps capped


def test_resolution_names_the_size_with_or_without_enhancement() -> None:
    """720p clips and `resolution: 1080p`: enhancing, the clips are super-resolved to 1080p; not enhancing, the
    composition scales the 720p clips to 1080p (and the rate stays VIDEO_FPS)."""
    settings = Settings()
    enhanced = freshness.film_format("16:9", settings, {"enhance": True, "resolution": "1080p", "multi": 2})
    assert (enhanced.width, enhanced.height, enhanced.fps, enhanced.clip_width) == (1920, 1080, 50, 1280)
    plain = freshness.film_format("16:9", settings, {"resolution": "1080p"})
    assert (plain.width, plain.height, plain.fps, plain.enhances_clips) == (1920, 1080, 25, False)
    story = freshness.compose_options  # the composition gets the same format
    options = story(_story(), settings, {"enhance": True, "resolution": "1080p", "multi": 2})
    assert (options.width, options.height, options.fps) == (1920, 1080, 50)


def _story() -> Any:
    from app.models.story import Story

    return Story(story_id="s", user_id="u", display_name="d", script_content="x", style="")


def test_a_plain_render_keeps_its_fingerprint_and_an_enhanced_one_differs() -> None:
    settings = small()
    plain = freshness.video_fingerprint(_story(), settings, {})
    assert freshness.video_fingerprint(_story(), settings, {"enhance": False, "multi": 4}) == plain
    two = freshness.video_fingerprint(_story(), settings, {"enhance": True, "multi": 2})
    four = freshness.video_fingerprint(_story(), settings, {"enhance": True, "multi": 4})
    assert len({plain, two, four}) == 3


def test_enhance_fallback_words() -> None:
    assert (small().enhance.chain(), small().enhance.skips) == (["embedded"], True)
    with_url = small(ENHANCE_URL="http://gpu:6010", ENHANCE_FALLBACK="embedded,skip").enhance
    assert (with_url.chain(), with_url.skips) == (["http", "embedded"], True)
    strict = small(ENHANCE_URL="http://gpu:6010", ENHANCE_FALLBACK="none").enhance
    assert (strict.chain(), strict.skips) == (["http"], False)


def test_the_service_gets_the_least_factors_that_reach_the_target() -> None:
    def request(**target: int) -> EnhanceRequest:
        return EnhanceRequest(clip_path=Path("c.mp4"), duration=2.0, width=320, height=180, fps=12, **target)

    assert job_params(request(target_width=640, target_height=360, target_fps=24)) == {"scale": 2, "multi": 2}
    assert job_params(request(target_width=960, target_height=540, target_fps=36)) == {"scale": 4, "multi": 4}
    assert job_params(request(target_width=320, target_height=180, target_fps=48)) == {"scale": 1, "multi": 4}
    assert job_params(request(target_width=2000, target_height=1125, target_fps=12)) == {"scale": 4, "multi": 1}
    limits = {"max_output_pixels": 1280 * 720, "max_output_fps": 30}
    assert job_params(request(target_width=1280, target_height=720, target_fps=48), limits) == {"scale": 4,
                                                                                                "multi": 2}
    assert job_params(request(target_width=1920, target_height=1080, target_fps=24), limits) == {"scale": 4,
                                                                                                 "multi": 2}
    big = request(target_width=1280, target_height=720, target_fps=24).model_copy(
        update={"width": 640, "height": 360})
    assert job_params(big, limits) == {"scale": 2, "multi": 2}  # 640×360 × 4 would pass 1280×720


# ------------------------------------------------------------------------------------------ the embedded engine


def make_clip(path: Path, *, size: str = "320x180", fps: int = 12, seconds: float = 2.0) -> Path:
    """A real (not Ken Burns) clip with sound: testsrc2 picture and a tone."""
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", f"testsrc2=size={size}:rate={fps}:"
                    f"duration={seconds}", "-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}",
                    "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", str(path)], check=True)
    return path


@pytest.mark.parametrize("mode", ["blend", "dup"])
async def test_the_embedded_engine_interpolates_and_upscales_a_real_clip(tmp_path: Path, mode: str) -> None:
    clip = make_clip(tmp_path / "in.mp4")
    request = EnhanceRequest(clip_path=clip, duration=2.0, width=320, height=180, fps=12, target_width=640,
                             target_height=360, target_fps=24)
    engine = EmbeddedEnhancer(small(ENHANCE_EMBEDDED_INTERP=mode))
    result = await engine.enhance(request, tmp_path / "out.mp4")
    facts = video_facts(tmp_path / "out.mp4")
    assert result.method == f"{mode}+lanczos" and (result.width, result.height, result.fps) == (640, 360, 24)
    assert facts["size"] == (640, 360) and facts["fps"] == 24 and facts["frames"] == 48
    assert facts["audio_duration"] is not None and abs(facts["audio_duration"] - facts["duration"]) < 0.05


def test_ken_burns_moves_are_drawn_at_the_keyframes_resolution() -> None:
    assert sample_size((1280, 720), (1280, 720), (2560, 1440)) == (1280, 720)
    assert sample_size((1920, 1080), (1280, 720), (2560, 1440)) == (1920, 1080)
    assert sample_size((4096, 2304), (1280, 720), (2560, 1440)) == (2560, 1440)
    assert sample_size((1024, 1024), (1280, 720), (2560, 1440)) == (1280, 720)  # never below the clip
    assert sample_size((1280, 720), (1280, 720), (1280, 720)) == (1280, 720)


def test_the_embedded_engine_interpolates_before_it_upscales() -> None:
    request = EnhanceRequest(clip_path=Path("in.mp4"), duration=3.0, width=320, height=180, fps=12,
                             target_width=640, target_height=360, target_fps=24)
    args = enhance_args(request, Path("out.mp4"), mode="mci", crf=23, preset="veryfast")
    chain = args[args.index("-vf") + 1]
    assert chain.index("minterpolate=fps=24:mi_mode=mci") < chain.index("scale=640:360:flags=lanczos")
    assert args[args.index("-frames:v") + 1] == "72"
    with pytest.raises(ValueError):
        enhance_args(request.model_copy(update={"target_width": 641}), Path("o.mp4"), mode="blend", crf=23,
                     preset="veryfast")


# ------------------------------------------------------------------------------------------ renders in process


@asynccontextmanager
async def counted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, **settings: Any) -> AsyncIterator[
        tuple[Service, Counter[str]]]:  # fmt: skip
    """The service in process, with every clip, narration and enhance backend call and composition counted."""
    calls: Counter[str] = Counter()
    original = compose.compose_story

    async def composing(**kwargs: Any) -> Any:
        calls["compose"] += 1
        return await original(**kwargs)

    monkeypatch.setattr(compose, "compose_story", composing)
    async with service(tmp_path / "data", **settings) as svc:
        providers = svc.runner.ctx.providers
        for stage, method in (("clip", "animate"), ("narration", "synthesize"), ("enhance", "enhance")):
            for backend in getattr(providers, stage).backends:
                inner = getattr(backend.impl, method)

                async def call(*args: Any, _inner: Any = inner, _stage: str = stage, **kwargs: Any) -> Any:
                    calls[_stage] += 1
                    return await _inner(*args, **kwargs)

                setattr(backend.impl, method, call)
        yield svc, calls


async def created(svc: Service) -> int:
    op = await svc.run(CreateStoryboardRequest(operation_id="op-c", display_name="d", style="", script_content=SCRIPT,
                                               **IDS))
    assert op.status == "succeeded", op.error
    story = await svc.store.get_story(IDS["story_id"])
    assert story is not None
    return len(story.shots)


async def render(svc: Service, operation_id: str, **fields: Any) -> tuple[dict[str, Any], Path]:
    op = await svc.run(RenderVideoRequest(operation_id=operation_id, **IDS, **fields), timeout_s=240)
    assert op.status == "succeeded", op.error
    story = await svc.store.get_story(IDS["story_id"])
    assert story is not None and story.video is not None
    view = await svc.view(operation_id)
    return view, svc.store.assets_dir(IDS["story_id"]) / story.video.file


def assert_enhanced_copy(plain: Path, enhanced: Path, shots: int, *, size: tuple[int, int], fps: int) -> None:
    """Twice the rate and size of the plain film, the same length within one frame per shot, sound in sync."""
    before, after = video_facts(plain), video_facts(enhanced)
    assert after["size"] == size and after["fps"] == fps
    assert after["fps"] == 2 * before["fps"] and after["size"] == (2 * before["size"][0], 2 * before["size"][1])
    assert abs(after["duration"] - before["duration"]) <= shots / fps
    assert abs(after["frames"] - 2 * before["frames"]) <= shots
    assert after["audio_duration"] is not None and abs(after["audio_duration"] - after["duration"]) < 0.05


async def test_a_repeated_render_redoes_nothing_and_a_new_multi_redoes_only_enhancement_and_composition(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    async with counted(tmp_path, monkeypatch) as (svc, calls):
        shots = await created(svc)
        plain_view, plain = await render(svc, "op-plain")
        calls.clear()
        view, film = await render(svc, "op-e1", enhance=True, multi=2, scale=2)
        assert calls == {"enhance": shots, "compose": 1}  # narration and clips were current
        assert_enhanced_copy(plain, film, shots, size=(640, 360), fps=24)
        enhancement = view["result"]["enhancement"]
        assert enhancement["enhanced"] and (enhancement["width"], enhancement["height"], enhancement["fps"]) == (
            640, 360, 24)
        assert {s["method"] for s in enhancement["shots"]} == {"resynthesized"} and not enhancement["not_enhanced"]
        assert plain_view["result"]["enhancement"]["enhanced"] is False
        assert view["progress"]["percent"] == 100.0 and view["stage"] == "done"

        calls.clear()
        again, film_again = await render(svc, "op-e2", enhance=True, multi=2, scale=2)
        assert calls == {} and film_again == film  # nothing redone

        calls.clear()
        _, film4 = await render(svc, "op-e3", enhance=True, multi=4, scale=2)
        assert calls == {"enhance": shots, "compose": 1}
        assert video_facts(film4)["fps"] == 48

        calls.clear()
        _, back = await render(svc, "op-plain-again")
        assert calls == {} and back == plain  # the plain film is still current
        story = svc.presenter.story(await svc.store.get_story(IDS["story_id"]))  # type: ignore[arg-type]
        assert story["video_stale"] is False


async def test_enhance_as_a_setting_enhances_every_render_unless_the_request_says_no(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    async with counted(tmp_path, monkeypatch, ENHANCE=True, ENHANCE_MULTI=2, ENHANCE_SCALE=2) as (svc, calls):
        shots = await created(svc)
        view, film = await render(svc, "op-r")
        _, plain = await render(svc, "op-p", enhance=False)
        assert_enhanced_copy(plain, film, shots, size=(640, 360), fps=24)
        assert view["result"]["enhancement"]["enhanced"] is True
        assert calls["enhance"] == shots


@pytest.fixture
def dead_url() -> str:
    return f"http://127.0.0.1:{free_port()}"  # nothing listens there


async def test_the_service_down_skips_enhancement_per_shot_and_says_why(tmp_path: Path, dead_url: str) -> None:
    with CallbackReceiver() as receiver:
        async with service(tmp_path / "data", ENHANCE_URL=dead_url, ENHANCE_RETRIES=0,
                           CALLBACK_URL=receiver.url) as svc:
            delivering = asyncio.create_task(svc.runner.ctx.outbox.run())
            try:
                shots = await created(svc)
                _, plain = await render(svc, "op-p")
                view, film = await render(svc, "op-e", enhance=True)
                for _ in range(200):
                    if any(e["event"] == "operation.succeeded" for e in receiver.events("op-e")):
                        break
                    await asyncio.sleep(0.05)
                ready = await readiness_report(svc.runner.ctx.providers, Health(), svc.settings.state.DATA_DIR, 0)
            finally:
                delivering.cancel()
                await asyncio.gather(delivering, return_exceptions=True)
    result = view["result"]
    degraded = [d for d in result["degraded_shots"] if d["stage"] == "enhance"]
    assert [d["shot_id"] for d in degraded] == [f"shot_{n:02d}" for n in range(1, shots + 1)]
    assert all("connection_failed" in d["reason"] and "http" in d["reason"] for d in degraded)
    enhancement = result["enhancement"]
    assert enhancement["enhanced"] is False and enhancement["shots"] == []
    assert [n["shot_id"] for n in enhancement["not_enhanced"]] == [d["shot_id"] for d in degraded]
    assert all("connection_failed" in n["reason"] for n in enhancement["not_enhanced"])
    facts = video_facts(film)  # still the film the render asked for: the composition scaled the clips
    assert facts["size"] == (640, 360) and facts["fps"] == 24
    assert abs(facts["duration"] - video_facts(plain)["duration"]) <= shots / 24
    final = next(e for e in receiver.events("op-e") if e["event"] == "operation.succeeded")
    assert final["result"]["enhancement"]["not_enhanced"] == enhancement["not_enhanced"]
    assert "enhance:http" in ready["not_ready"]


async def test_the_service_down_without_a_fallback_fails_the_render(tmp_path: Path, dead_url: str) -> None:
    async with service(tmp_path / "data", ENHANCE_URL=dead_url, ENHANCE_RETRIES=0, ENHANCE_FALLBACK="none") as svc:
        await created(svc)
        op = await svc.run(RenderVideoRequest(operation_id="op-e", enhance=True, **IDS))
        plain = await svc.run(RenderVideoRequest(operation_id="op-p", **IDS))
    assert op.status == "failed" and op.error is not None
    assert (op.error.code, op.error.stage, op.error.shot_id) == ("enhance_failed", "enhance", "shot_01")
    assert "connection_failed" in op.error.message
    assert plain.status == "succeeded"  # a render that does not enhance does not need the service


async def test_a_fallback_backend_enhances_when_the_service_is_down(tmp_path: Path, dead_url: str) -> None:
    async with service(tmp_path / "data", ENHANCE_URL=dead_url, ENHANCE_RETRIES=0,
                       ENHANCE_FALLBACK="embedded,skip") as svc:
        shots = await created(svc)
        view, film = await render(svc, "op-e", enhance=True, multi=2, scale=2)
    enhancement = view["result"]["enhancement"]
    assert enhancement["enhanced"] is True and {s["backend"] for s in enhancement["shots"]} == {"embedded"}
    degraded = [d for d in view["result"]["degraded_shots"] if d["stage"] == "enhance"]
    assert len(degraded) == shots and all("connection_failed" in d["reason"] for d in degraded)
    assert video_facts(film)["fps"] == Fraction(24)
