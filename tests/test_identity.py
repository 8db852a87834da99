"""Who may do what: cancel checks the owner, header and query must agree, media is signed behind a key."""

from __future__ import annotations

from urllib.parse import urlsplit

from tests.server import wait_for

KEY = "s3cret-key"
AUTH = {"Authorization": f"Bearer {KEY}"}
CREATE = {"operation_id": "op-c", "story_id": "story-i", "user_id": "alice", "display_name": "Fox",
          "script_content": "A fox looks for the moon.", "style": ""}
SMALL = {"VIDEO_WIDTH": "320", "VIDEO_HEIGHT": "180", "CLIP_PROVIDER": "tests.fakes:slow_clips", "SLOW_CLIP_S": "3"}


def test_cancel_by_another_user_is_404_and_by_the_owner_works(start_service):
    with start_service(SMALL).client() as client:
        client.post("/api/v1/storyboard/create", json=CREATE)
        assert wait_for(client, "op-c")["status"] == "succeeded"
        client.post("/api/v1/video/render", json={"operation_id": "op-r", "story_id": "story-i", "user_id": "alice"})
        assert client.post("/api/v1/operations/op-r/cancel", headers={"X-User-Id": "mallory"}).status_code == 404
        assert client.post("/api/v1/operations/op-r/cancel?user_id=mallory").status_code == 404
        assert client.get("/api/v1/operations/op-r", headers={"X-User-Id": "mallory"}).status_code == 404
        cancelled = client.post("/api/v1/operations/op-r/cancel", headers={"X-User-Id": "alice"})
        assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
        again = client.post("/api/v1/operations/op-r/cancel", headers={"X-User-Id": "alice"})
        assert again.status_code == 409 and again.json()["code"] == "operation_finished"


def test_header_and_query_that_disagree_are_refused(start_service):
    with start_service().client() as client:
        client.post("/api/v1/storyboard/create", json=CREATE)
        wait_for(client, "op-c")
        both = client.get("/api/v1/stories/story-i?user_id=alice", headers={"X-User-Id": "mallory"})
        assert both.status_code == 409 and both.json()["code"] == "user_id_mismatch"
        assert client.get("/api/v1/stories/story-i?user_id=alice", headers={"X-User-Id": "alice"}).status_code == 200
        assert client.get("/api/v1/stories/story-i", headers={"X-User-Id": "mallory"}).status_code == 404


def test_with_an_api_key_media_urls_are_signed_and_checked(start_service):
    with start_service({"API_KEY": KEY}).client() as client:
        assert client.post("/api/v1/storyboard/create", json=CREATE).status_code == 401
        assert client.post("/api/v1/storyboard/create", json=CREATE,
                           headers={"Authorization": KEY}).status_code == 401  # a raw key is no bearer token
        assert client.post("/api/v1/storyboard/create", json=CREATE,
                           headers={"Authorization": f"bearer {KEY}"}).status_code == 202  # scheme in any case
        done = None
        for _ in range(400):
            done = client.get("/api/v1/operations/op-c", headers=AUTH).json()
            if done["status"] in ("succeeded", "failed"):
                break
            __import__("time").sleep(0.1)
        assert done and done["status"] == "succeeded", done
        url = done["result"]["shots"][0]["image_url"]
        parts = urlsplit(url)
        assert "sig=" in parts.query and "exp=" in parts.query
        signed = client.get(f"{parts.path}?{parts.query}")
        assert signed.status_code == 200 and signed.headers["content-type"] == "image/png"
        unsigned = client.get(parts.path)
        assert unsigned.status_code == 401 and unsigned.json()["code"] == "media_signature_required"
        forged = client.get(f"{parts.path}?{parts.query.replace('sig=', 'sig=0')}")
        assert forged.status_code == 403 and forged.json()["code"] == "media_signature_invalid"
        other = parts.path.replace("shot_01", "shot_02")
        assert client.get(f"{other}?{parts.query}").status_code == 403  # a signature is for its own path only
