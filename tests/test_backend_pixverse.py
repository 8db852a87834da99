"""Pixverse clip backend against the Pixverse API double: upload → img2video → poll → download → fit."""

from __future__ import annotations

import io
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from PIL import Image

from app.core.errors import ConfigurationError, TerminalBackendError, TransientBackendError
from app.core.settings.vendors import PixverseSettings
from app.services.clip.base import ClipRequest
from app.services.clip.pixverse import PixverseAnimator, generate_body, offered_durations, pick_duration
from app.services.clip.pixverse_errors import envelope_error, status_error
from tests.doubles.pixverse import PixverseDouble, check_generate, serve_pixverse
from tests.media import probe, stream

KEY = "pv-test-key"


@pytest.fixture
def double() -> Iterator[PixverseDouble]:
    with serve_pixverse(KEY) as served:
        yield served


def make_animator(base_url: str, **overrides) -> PixverseAnimator:
    cfg = {"API_KEY": KEY, "BASE_URL": base_url, "POLL_INTERVAL_S": 0.02, "REQUEST_TIMEOUT_S": 3,
           "TASK_TIMEOUT_S": 20, "RETRIES": 2, "BACKOFF_BASE_S": 0.01, "BACKOFF_MAX_S": 0.05}
    return PixverseAnimator(PixverseSettings(**{**cfg, **overrides}), preset="ultrafast")


def make_request(tmp_path: Path, **overrides) -> ClipRequest:
    keyframe = tmp_path / "keyframe.png"
    Image.new("RGB", (640, 360), (40, 90, 160)).save(keyframe)
    fields = {"keyframe_path": keyframe, "prompt": "小猫在窗台上伸懒腰",
              "prompts": {"en": "a kitten stretches on a sill"},
              "camera": "推镜头", "duration": 3.0, "width": 320, "height": 180, "fps": 25, "seed": 7}
    return ClipRequest(**{**fields, **overrides})


async def test_pixverse_writes_a_silent_clip_fitted_to_the_shot(double, tmp_path: Path) -> None:
    out = tmp_path / "clip.mp4"
    await make_animator(double.base_url).animate(make_request(tmp_path), out)
    info = probe(out)
    video = stream(info, "video")
    assert [s["codec_type"] for s in info["streams"]] == ["video"]  # Pixverse's 16 kHz AAC is dropped
    assert (video["codec_name"], video["width"], video["height"], video["nb_frames"]) == ("h264", 320, 180, "75")
    body = double.generate_bodies[0]
    assert body["prompt"] == "a kitten stretches on a sill"
    assert (body["duration"], body["model"], body["quality"], body["seed"]) == (5, "v5", "540p", 7)
    assert [double.count(e) for e in ("upload", "generate", "media")] == [1, 1, 1]
    assert not double.media_saw_api_key
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clip.mp4", "keyframe.png"]  # no temp files left


async def test_pixverse_polls_and_uploads_take_a_fresh_trace_id_each(double, tmp_path: Path) -> None:
    double.http_errors["result"].append(503)
    double.http_errors["upload"].append(502)
    await make_animator(double.base_url).animate(make_request(tmp_path), tmp_path / "clip.mp4")
    polls, uploads = double.traces("result"), double.traces("upload")
    assert len(polls) >= 3 and len(set(polls)) == len(polls)  # a replayed poll would repeat a stale status
    assert len(uploads) == 2 and len(set(uploads)) == 2


async def test_pixverse_double_replays_the_first_answer_for_a_reused_trace_id_and_bills_once(double) -> None:
    headers = {"API-KEY": KEY}
    async with httpx.AsyncClient(base_url=double.base_url) as client:
        png = io.BytesIO()
        Image.new("RGB", (64, 64)).save(png, format="PNG")
        upload = await client.post("/openapi/v2/image/upload", files={"image": ("k.png", png.getvalue(), "image/png")},
                                   headers={**headers, "Ai-trace-id": str(uuid.uuid4())})
        body = {"img_id": upload.json()["Resp"]["img_id"], "model": "v5", "prompt": "a fox", "duration": 5,
                "quality": "540p"}
        trace = {**headers, "Ai-trace-id": str(uuid.uuid4())}
        first = (await client.post("/openapi/v2/video/img/generate", json=body, headers=trace)).json()
        again = (await client.post("/openapi/v2/video/img/generate", json=body, headers=trace)).json()
        fresh = (await client.post("/openapi/v2/video/img/generate", json=body,
                                   headers={**headers, "Ai-trace-id": str(uuid.uuid4())})).json()
    assert first["ErrCode"] == 0 and again == first
    assert fresh["Resp"]["video_id"] != first["Resp"]["video_id"]
    assert double.billed == [first["Resp"]["video_id"], fresh["Resp"]["video_id"]]


async def test_pixverse_generate_whose_answer_is_lost_is_retried_under_its_trace_id_and_billed_once(
        double, tmp_path: Path) -> None:
    double.drop["generate"] = 1  # PixVerse accepts (and bills) the video, then the connection drops
    out = tmp_path / "clip.mp4"
    await make_animator(double.base_url).animate(make_request(tmp_path), out)
    first, retry = double.traces("generate")
    assert first == retry  # the retry asks PixVerse about the same generation
    assert len(double.billed) == 1 and list(double.videos) == double.billed
    assert double.count("media") == 1 and probe(out)["streams"]


async def test_pixverse_generate_retried_after_a_gateway_5xx_keeps_its_trace_id(double, tmp_path: Path) -> None:
    double.http_errors["generate"].extend([502, 504])  # did PixVerse start it? unknown: ask under the same id
    await make_animator(double.base_url).animate(make_request(tmp_path), tmp_path / "clip.mp4")
    assert len(set(double.traces("generate"))) == 1 and len(double.traces("generate")) == 3
    assert len(double.billed) == 1


async def test_pixverse_retries_a_500_and_then_succeeds(double, tmp_path: Path) -> None:
    double.http_errors["generate"].append(500)
    await make_animator(double.base_url).animate(make_request(tmp_path), tmp_path / "clip.mp4")
    assert double.count("generate") == 2 and len(double.generate_bodies) == 1


async def test_pixverse_retries_the_concurrency_limit_errcode_under_a_new_trace_id(double, tmp_path: Path) -> None:
    double.errcodes["generate"].append((500044, "Reached the limit for concurrent generations."))
    await make_animator(double.base_url).animate(make_request(tmp_path), tmp_path / "clip.mp4")
    refused, accepted = double.traces("generate")
    assert refused != accepted  # PixVerse said no: the old id would only replay that refusal
    assert len(double.billed) == 1


async def test_pixverse_errcode_on_http_200_is_terminal_with_the_vendor_message(double, tmp_path) -> None:
    double.errcodes["generate"].append((500063, "Text moderation failed: sensitive information"))
    with pytest.raises(TerminalBackendError) as info:
        await make_animator(double.base_url).animate(make_request(tmp_path), tmp_path / "clip.mp4")
    assert info.value.code == "moderation"
    assert "Text moderation failed: sensitive information" in info.value.message and "500063" in info.value.message
    assert double.count("generate") == 1


async def test_pixverse_upload_moderation_on_http_500_is_not_retried(double, tmp_path: Path) -> None:
    double.raw["upload"].append((500, {"err_code": 500054, "err_msg": "图片未过审，疑含敏感内容", "resp": ""}))
    with pytest.raises(TerminalBackendError) as info:
        await make_animator(double.base_url).animate(make_request(tmp_path), tmp_path / "clip.mp4")
    assert (info.value.code, double.count("upload"), double.count("generate")) == ("moderation", 1, 0)
    assert "图片未过审" in info.value.message


@pytest.mark.parametrize(("status", "code"), [(7, "moderation"), (8, "generation_failed")])
async def test_pixverse_task_status_7_and_8_are_terminal(double, tmp_path, status, code) -> None:
    double.final_status = status
    out = tmp_path / "clip.mp4"
    with pytest.raises(TerminalBackendError) as info:
        await make_animator(double.base_url).animate(make_request(tmp_path), out)
    assert info.value.code == code and f"status {status}" in info.value.message
    assert (double.count("generate"), double.count("media")) == (1, 0)
    assert not out.exists()


async def test_pixverse_task_stuck_in_progress_hits_the_task_timeout(double, tmp_path: Path) -> None:
    double.stuck = True
    with pytest.raises(TransientBackendError) as info:
        await make_animator(double.base_url, TASK_TIMEOUT_S=0.5).animate(make_request(tmp_path), tmp_path / "c.mp4")
    assert info.value.code == "timeout"
    assert double.count("result") > 3 and double.count("generate") == 1


async def test_pixverse_hanging_request_times_out_after_its_retries(double, tmp_path: Path) -> None:
    double.hang.add("generate")
    with pytest.raises(TransientBackendError) as info:
        animator = make_animator(double.base_url, REQUEST_TIMEOUT_S=0.3, RETRIES=1)
        await animator.animate(make_request(tmp_path), tmp_path / "c.mp4")
    assert info.value.code == "timeout"
    assert double.count("generate") == 2


async def test_pixverse_wrong_api_key_is_terminal(double, tmp_path: Path) -> None:
    with pytest.raises(TerminalBackendError) as info:
        await make_animator(double.base_url, API_KEY="wrong").animate(make_request(tmp_path), tmp_path / "c.mp4")
    assert info.value.code == "unauthorized" and "Invalid account" in info.value.message
    assert double.count("upload") == 1


async def test_pixverse_result_over_the_download_limit_is_terminal(double, tmp_path: Path) -> None:
    with pytest.raises(TerminalBackendError) as info:
        animator = make_animator(double.base_url, MAX_DOWNLOAD_BYTES=1000)
        await animator.animate(make_request(tmp_path), tmp_path / "c.mp4")
    assert info.value.code == "media_too_large"


async def test_pixverse_readiness_checks_the_key_against_the_balance(double) -> None:
    ready = await make_animator(double.base_url).ready()
    assert ready.ready and "1030 credits" in ready.detail
    wrong = await make_animator(double.base_url, API_KEY="wrong").ready()
    assert not wrong.ready and "Invalid account" in wrong.detail
    unset = await PixverseAnimator(PixverseSettings(API_KEY=None, BASE_URL=double.base_url)).ready()
    assert not unset.ready and "PIXVERSE_API_KEY" in unset.detail
    from tests.server import free_port

    down = await make_animator(f"http://127.0.0.1:{free_port()}").ready()
    assert not down.ready and "connection_failed" in down.detail


async def test_pixverse_1080p_asks_for_5_s_clips_only(double, tmp_path: Path) -> None:
    out = tmp_path / "clip.mp4"
    await make_animator(double.base_url, QUALITY="1080p").animate(make_request(tmp_path, duration=6.5), out)
    assert (double.generate_bodies[0]["duration"], double.generate_bodies[0]["quality"]) == (5, "1080p")
    assert stream(probe(out), "video")["nb_frames"] == str(round(6.5 * 25))  # the 5 s clip is held to the shot


@pytest.mark.parametrize(("overrides", "words"), [
    ({"QUALITY": "1080p", "MOTION_MODE": "fast"}, "fast is not offered at PIXVERSE_QUALITY=1080p"),
    ({"QUALITY": "1080p", "DURATIONS": "5,8"}, "no 8 s clips"),
    ({"MOTION_MODE": "fast", "DURATIONS": "5,8"}, "5 s clips only"),
    ({"QUALITY": "4k"}, "PIXVERSE_QUALITY must be one of"),
    ({"MOTION_MODE": "slow"}, "PIXVERSE_MOTION_MODE must be"),
])
def test_pixverse_combinations_pixverse_refuses_are_configuration_errors(overrides, words) -> None:
    with pytest.raises(ConfigurationError, match=words):
        make_animator("http://127.0.0.1:9", **overrides)


def test_pixverse_offered_durations_follow_model_quality_and_motion() -> None:
    assert offered_durations(PixverseSettings(API_KEY=KEY)) == [5, 8]
    assert offered_durations(PixverseSettings(API_KEY=KEY, MODEL="v5.5")) == [5, 8, 10]
    assert offered_durations(PixverseSettings(API_KEY=KEY, MODEL="v5.5", QUALITY="1080p")) == [5]
    assert offered_durations(PixverseSettings(API_KEY=KEY, MOTION_MODE="fast")) == [5]
    assert offered_durations(PixverseSettings(API_KEY=KEY, DURATIONS="8, 5")) == [5, 8]


def test_pixverse_double_refuses_8_s_and_fast_motion_at_1080p() -> None:
    images = {1: b"png"}
    body = {"img_id": 1, "model": "v5", "prompt": "p", "duration": 5, "quality": "1080p"}
    assert check_generate(body, images) is None
    assert check_generate({**body, "duration": 8}, images)[0] == 400017
    assert check_generate({**body, "motion_mode": "fast"}, images)[0] == 400017
    assert check_generate({**body, "quality": "720p", "duration": 8}, images) is None


def test_pick_duration_takes_the_shortest_covering_length() -> None:
    assert pick_duration(3.2, [5, 8]) == 5
    assert pick_duration(6.0, [8, 5]) == 8
    assert pick_duration(12.0, [5, 8]) == 8


def test_generate_body_prefers_the_english_rewrite_and_bounds_seed_and_prompt(tmp_path: Path) -> None:
    cfg = PixverseSettings(API_KEY=KEY, NEGATIVE_PROMPT="blurry", MOTION_MODE="normal")
    request = make_request(tmp_path, prompts={}, prompt="x" * 3000, seed=2**40)
    body = generate_body(request, 42, cfg)
    assert len(body["prompt"]) == 2048 and 0 <= body["seed"] <= 2_147_483_647
    assert (body["img_id"], body["negative_prompt"], body["motion_mode"]) == (42, "blurry", "normal")
    assert "motion_mode" not in generate_body(request, 42, PixverseSettings(API_KEY=KEY))


@pytest.mark.parametrize(("status", "body", "kind", "code"), [
    (200, {"ErrCode": 0, "ErrMsg": "success", "Resp": {}}, None, None),
    (200, {"ErrCode": 500090, "ErrMsg": "Insufficient balance"}, TerminalBackendError, "insufficient_balance"),
    (200, {"ErrCode": 500069, "ErrMsg": "high load"}, TransientBackendError, "vendor_busy"),
    (200, {"ErrCode": 400017, "ErrMsg": "Invalid parameter"}, TerminalBackendError, "invalid_request"),
    (200, {"ErrCode": 123456, "ErrMsg": "new code"}, TerminalBackendError, "invalid_request"),
    (429, {"ErrMsg": "slow down"}, TransientBackendError, "http_429"),
    (502, None, TransientBackendError, "http_502"),
    (200, None, TransientBackendError, "bad_response"),
])
def test_envelope_error_maps_errcodes_and_statuses(status, body, kind, code) -> None:
    error = envelope_error("pixverse", status, body, "<html>bad gateway</html>")
    assert (type(error) if error else None, error.code if error else None) == (kind, code)


def test_status_error_only_fails_terminal_statuses() -> None:
    assert status_error("pixverse", 5, 1) is None and status_error("pixverse", 1, 1) is None
    assert isinstance(status_error("pixverse", 7, 1), TerminalBackendError)
