"""The studio in a real browser: Debian's headless Chromium, driven by Playwright (no browser download).

After a real create on the embedded backends the story page shows a card per shot with its loaded keyframe
and narration; an edited shot, regenerated, shows its new keyframe version; a render's progress moves
without a reload and ends in a playable video with a subtitle track; the list shows a failed operation
with its error; /docs renders with every request outside the app blocked. Screenshots are kept in
tests/artifacts/studio/.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.server import REPO, wait_for

CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]
ARTIFACTS = REPO / "tests" / "artifacts" / "studio"
SMALL = {"VIDEO_WIDTH": "320", "VIDEO_HEIGHT": "180", "VIDEO_FPS": "12", "SHOT_MIN_S": "1.0"}
STORY = {"operation_id": "op-b1", "story_id": "story-b", "user_id": "u-1", "display_name": "小狗找妈妈",
         "style": "温馨可爱",
         "script_content": "小狗豆豆醒来发现妈妈不见了。它跑出家门。天黑了，它很害怕。它听见妈妈的叫声。它们一起回家。"}


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).is_file():
        pytest.fail(f"no Chromium at {CHROMIUM}: scripts/setup.sh installs Debian's chromium")
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    opened = context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda exc: errors.append(str(exc)))
    yield opened
    context.close()
    assert not errors, f"script errors on the page: {errors}"


def until(check: Callable[[], Any], timeout_s: float = 60.0, every_s: float = 0.1) -> Any:
    """Poll `check` until it returns something truthy (Playwright's wait_for_function would need eval, which
    the studio's Content-Security-Policy forbids)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(every_s)
    raise TimeoutError(f"condition not met within {timeout_s}s")


def shot(page: Any, shot_id: str) -> dict[str, Any]:
    return page.evaluate("""(id) => {
        const card = document.getElementById('shot-' + id);
        const img = card.querySelector('img.keyframe-image');
        return {version: card.dataset.keyframeVersion, src: img.getAttribute('src'), complete: img.complete,
                width: img.naturalWidth, narration: card.querySelector('.narration').textContent.trim(),
                versions: Array.from(card.querySelectorAll('.versions .chip')).map(c => c.textContent)};
    }""", shot_id)


def test_story_page_after_create_then_regenerate_and_render_live(start_service, page):
    service = start_service({**SMALL, "CLIP_PROVIDER": "tests.fakes:slow_clips", "SLOW_CLIP_S": "0.4",
                             "MAX_PARALLEL_SHOTS": "1"})
    with service.client() as api:
        assert api.post("/api/v1/storyboard/create", json=STORY).status_code == 202
        created = wait_for(api, "op-b1")
        assert created["status"] == "succeeded", created["error"]
    shots = created["result"]["shots"]

    page.goto(f"{service.base_url}/studio/stories/story-b")
    assert page.title().startswith("小狗找妈妈")
    cards = page.locator("article.shot")
    assert cards.count() == len(shots) >= 4
    for expected in shots:
        seen = until(lambda expected=expected: (s := shot(page, expected["id"]))["complete"] and s)
        assert seen["width"] > 0, f"{expected['id']}'s keyframe did not load"
        assert seen["narration"] == expected["narration"]
        assert seen["version"] == "1"
    page.screenshot(path=str(ARTIFACTS / "story-created.png"), full_page=True)
    page.evaluate("window.__sameDocument = true")

    card = page.locator("#shot-shot_02")
    card.locator("details.edit summary").click()
    card.locator("textarea[name=detail]").fill("雨夜，豆豆躲在屋檐下，望着远处的灯光。")
    card.locator("button[type=submit]").click()
    regenerated = until(lambda: (s := shot(page, "shot_02"))["version"] == "2" and s["complete"] and s, 60)
    assert regenerated["width"] > 0 and "keyframe_v2" in regenerated["src"]
    assert regenerated["versions"] == ["v1", "v2"]
    assert shot(page, "shot_01")["version"] == "1"
    page.screenshot(path=str(ARTIFACTS / "shot-regenerated.png"), full_page=True)

    page.select_option("#render-form select[name=transition]", "crossfade")
    page.click("#render-button")
    seen: list[tuple[str, float]] = []
    shot_taken = False

    def render_ended() -> bool:
        nonlocal shot_taken
        state = page.evaluate("""() => {
            const row = document.querySelector('.live-op[data-operation-id^="studio-render-"]');
            return row ? [row.dataset.status, parseFloat(row.dataset.percent)] : null; }""")
        if state and (not seen or tuple(state) != seen[-1]):
            seen.append(tuple(state))
            if state[0] == "running" and 20 <= state[1] <= 90 and not shot_taken:
                page.screenshot(path=str(ARTIFACTS / "rendering.png"), full_page=False)
                shot_taken = True
        return bool(state) and state[0] in ("succeeded", "failed", "cancelled")

    until(render_ended, 180, 0.05)
    assert seen[-1] == ("succeeded", 100.0), seen
    running = [percent for status, percent in seen if status == "running"]
    assert len(set(running)) >= 3, f"progress did not move: {seen}"
    assert running == sorted(running) and 0 < max(running) <= 100  # the last unit lands just before the final write
    assert page.evaluate("window.__sameDocument === true"), "the page was reloaded"

    until(lambda: page.evaluate("document.querySelector('#film-video') !== null"), 30)
    ready = until(lambda: page.evaluate("document.querySelector('#film-video').readyState >= 2"), 30)
    assert ready
    video = page.evaluate("""() => { const v = document.querySelector('#film-video');
        const t = v.querySelector('track');
        return {tracks: v.textTracks.length, kind: t && t.kind, src: t && t.getAttribute('src'),
                mode: v.textTracks[0] && v.textTracks[0].mode, width: v.videoWidth, duration: v.duration}; }""")
    assert video["tracks"] >= 1 and video["kind"] == "subtitles" and video["src"].endswith(".vtt")
    assert video["mode"] == "showing" and video["width"] == 320 and video["duration"] > 2
    until(lambda: page.evaluate("document.querySelector('#film-video track').readyState === 2"), 30)
    assert page.evaluate("document.querySelector('#film-video').textTracks[0].cues.length") >= len(shots)
    links = page.evaluate("Array.from(document.querySelectorAll('.downloads a')).map(a => a.textContent)")
    assert {"video.mp4", "subtitles.srt", "subtitles.vtt", "cover.jpg", "contact sheet"} <= set(links)
    page.screenshot(path=str(ARTIFACTS / "story-rendered.png"), full_page=True)


def test_the_list_shows_a_failed_operation_with_its_error_and_fits_a_phone(start_service, browser):
    service = start_service({**SMALL, "CLIP_PROVIDER": "tests.fakes:broken_clips", "CLIP_FALLBACK": "none"})
    with service.client() as api:
        api.post("/api/v1/storyboard/create", json=STORY)
        assert wait_for(api, "op-b1")["status"] == "succeeded"
        api.post("/api/v1/video/render", json={"operation_id": "op-b2", "story_id": "story-b", "user_id": "u-1"})
        failed = wait_for(api, "op-b2")
        assert failed["status"] == "failed"
    context = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True,
                                  has_touch=True, locale="zh-CN")
    phone = context.new_page()
    try:
        phone.goto(f"{service.base_url}/studio")
        rows = phone.evaluate("""() => Array.from(document.querySelectorAll('tr.op')).map(r => ({
            id: r.dataset.operationId, status: r.dataset.status,
            error: r.querySelector('.error-cell').textContent.trim()}))""")
        assert rows[0] == {"id": "op-b2", "status": "failed",
                           "error": f"{failed['error']['code']}: {failed['error']['message']}"}
        assert "GPU server unavailable" in rows[0]["error"]
        assert phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
        phone.screenshot(path=str(ARTIFACTS / "list-failed-phone.png"), full_page=True)
        phone.goto(f"{service.base_url}/studio/stories/story-b")
        assert phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
        assert phone.locator("article.shot").count() >= 4
        phone.screenshot(path=str(ARTIFACTS / "story-phone.png"), full_page=False)
    finally:
        context.close()


def test_signing_in_once_lets_the_page_act_through_the_api(start_service, page):
    service = start_service({**SMALL, "API_KEY": "browser-key-123"})
    with service.client(headers={"Authorization": "Bearer browser-key-123"}) as api:
        api.post("/api/v1/storyboard/create", json=STORY)
        assert wait_for(api, "op-b1")["status"] == "succeeded"
    page.goto(f"{service.base_url}/studio/stories/story-b")
    assert "/studio/login" in page.url
    page.fill("input[name=api_key]", "browser-key-123")
    page.click("button[type=submit]")
    page.wait_for_url(f"{service.base_url}/studio/stories/story-b")
    card = page.locator("#shot-shot_01")
    card.locator("details.edit summary").click()
    card.locator("input[name=tone]").fill("tense")
    card.locator("button[type=submit]").click()
    assert until(lambda: shot(page, "shot_01")["version"] == "2", 60)
    page.screenshot(path=str(ARTIFACTS / "signed-in-regenerated.png"), full_page=False)


def test_docs_render_with_every_request_outside_the_app_blocked(start_service, page):
    service = start_service()
    outside: list[str] = []

    def only_the_app(route: Any) -> None:
        if route.request.url.startswith(service.base_url):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    page.route("**/*", only_the_app)
    page.goto(f"{service.base_url}/docs")
    title = until(lambda: page.evaluate("(document.querySelector('.swagger-ui .info .title') || {}).textContent"))
    assert "Story2Video" in title
    assert until(lambda: page.locator(".opblock").count() >= 5)
    assert not outside, outside
    page.screenshot(path=str(ARTIFACTS / "docs-offline.png"), full_page=False)


def test_cancel_from_the_page_stops_a_running_render(start_service, page):
    service = start_service({**SMALL, "CLIP_PROVIDER": "tests.fakes:slow_clips", "SLOW_CLIP_S": "30"})
    with service.client() as api:
        api.post("/api/v1/storyboard/create", json=STORY)
        assert wait_for(api, "op-b1")["status"] == "succeeded"
    page.goto(f"{service.base_url}/studio/stories/story-b")
    page.click("#render-button")
    row = '.live-op[data-operation-id^="studio-render-"]'
    until(lambda: page.evaluate(f"(document.querySelector('{row}') || {{}}).dataset?.status === 'running'"), 30)
    page.click(f"{row} button.cancel")
    until(lambda: page.evaluate(f"document.querySelector('{row}').dataset.status === 'cancelled'"), 30)
    error = page.evaluate(f"document.querySelector('{row} .live-error').textContent")
    assert error.startswith("cancelled:")
    assert page.locator(f"{row} button.cancel").count() == 0
    page.screenshot(path=str(ARTIFACTS / "render-cancelled.png"), full_page=False)
