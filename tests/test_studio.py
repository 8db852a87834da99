"""The studio over plain HTTP: protected like the API (key entered once, or a signed link), pages in order,
text escaped, and the cookie never enough for a cross-site write."""

from __future__ import annotations

import httpx

from app.api import session
from tests.server import wait_for

KEY = "studio-key-123"
CREATE = {"operation_id": "op-s1", "story_id": "story-s", "user_id": "u-1",
          "display_name": "<script>alert(1)</script>狐狸", "style": "paper cut",
          "script_content": "A fox looks for the moon. It climbs a hill. It meets an owl."}


def test_session_tokens_expire_and_cannot_be_forged():
    token = session.issue("k", 60, now=1000)
    assert session.verify("k", token, now=1059)
    assert not session.verify("k", token, now=1061)
    assert not session.verify("other", token, now=1000)
    expires, signature = token.split(".")
    assert not session.verify("k", f"{int(expires) + 999}.{signature}", now=1000)
    assert not session.verify("k", None) and not session.verify("k", "garbage")


def test_pages_need_a_session_and_the_cookie_alone_cannot_write(start_service):
    service = start_service({"API_KEY": KEY})
    bearer = {"Authorization": f"Bearer {KEY}"}
    with service.client(headers=bearer) as api:
        api.post("/api/v1/storyboard/create", json=CREATE)
        assert wait_for(api, "op-s1")["status"] == "succeeded"
        link = api.post("/api/v1/studio/links", json={"story_id": "story-s", "ttl_s": 600}).json()
        assert api.post("/api/v1/studio/links", json={"story_id": "nope"}).status_code == 404
    base = service.base_url
    with httpx.Client(base_url=base, timeout=30) as browser:
        first = browser.get("/studio")
        assert first.status_code == 303 and first.headers["location"] == "/studio/login?next=/studio"
        assert browser.get("/studio/stories/story-s/panel").status_code == 401
        wrong = browser.post("/studio/login", data={"api_key": "nope", "next": "/studio"})
        assert wrong.status_code == 401 and "not the API key" in wrong.text
        evil = browser.post("/studio/login", data={"api_key": KEY, "next": "//evil.example/studio"})
        assert evil.status_code == 303 and evil.headers["location"] == "/studio"
        cookie = evil.headers["set-cookie"]
        assert "HttpOnly" in cookie and "samesite=lax" in cookie.lower()
        page = browser.get("/studio/stories/story-s")
        assert page.status_code == 200
        assert "<script>alert(1)</script>" not in page.text and "&lt;script&gt;" in page.text
        assert 'name="viewport"' in page.text and '<meta charset="utf-8">' in page.text
        assert "script-src 'self'" in page.headers["content-security-policy"]
        assert browser.get("/api/v1/stories/story-s").status_code == 200  # reads with the cookie
        body = {"operation_id": "op-s2", "story_id": "story-s", "user_id": "u-1", "shot_id": "shot_01"}
        assert browser.post("/api/v1/shot/regenerate", json=body).status_code == 401  # no studio header: refused
        assert browser.post("/api/v1/shot/regenerate", json=body,
                            headers={session.CSRF_HEADER: "1"}).status_code == 202
        browser.post("/studio/logout")
        assert browser.get("/studio").status_code == 303

    with httpx.Client(timeout=30) as stranger:
        bad = stranger.get(f"{base}/studio/stories/story-s?token=1.deadbeef")
        assert bad.status_code == 401 and "expired" in bad.text
        opened = stranger.get(link["url"])
        assert opened.status_code == 303 and opened.headers["location"] == "/studio/stories/story-s"
        assert stranger.get(f"{base}/studio/stories/story-s").status_code == 200


def test_the_list_puts_running_and_failed_operations_first(start_service):
    service = start_service({"CLIP_PROVIDER": "tests.fakes:broken_clips", "CLIP_FALLBACK": "none",
                             "VIDEO_WIDTH": "320", "VIDEO_HEIGHT": "180"})
    with service.client() as api:
        api.post("/api/v1/storyboard/create", json=CREATE)
        assert wait_for(api, "op-s1")["status"] == "succeeded"
        api.post("/api/v1/video/render", json={"operation_id": "op-s2", "story_id": "story-s", "user_id": "u-1"})
        assert wait_for(api, "op-s2")["status"] == "failed"
        page = api.get("/studio")
        missing = api.get("/studio/stories/nothing-here")
    assert page.status_code == 200
    assert page.text.index('data-operation-id="op-s2"') < page.text.index('data-operation-id="op-s1"')
    assert "clip_failed" in page.text and "GPU server unavailable" in page.text
    assert 'data-story-id="story-s"' in page.text
    assert missing.status_code == 404 and "nothing-here" in missing.text
