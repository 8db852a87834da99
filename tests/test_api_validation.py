"""Bad input gets a 4xx with a stable code and nothing is written; idempotency by operation_id."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.server import wait_for

BASE = {"operation_id": "op-a", "story_id": "story-a", "user_id": "u-1", "display_name": "t",
        "script_content": "A fox looks for the moon.", "style": "paper cut"}


def snapshot(data_dir: Path) -> dict[str, float]:
    return {str(p.relative_to(data_dir)): p.stat().st_mtime for p in data_dir.rglob("*")
            if p.is_file() and "locks" not in p.parts}


@pytest.fixture
def service(start_service):
    return start_service()


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"story_id": "../x"}, "invalid_request"),
        ({"story_id": ""}, "invalid_request"),
        ({"story_id": "s" * 200}, "invalid_request"),
        ({"user_id": "a/b"}, "invalid_request"),
        ({"operation_id": ".hidden"}, "invalid_request"),
        ({"script_content": ""}, "invalid_request"),
        ({"script_content": None}, "invalid_request"),
        ({"aspect_ratio": "4:3"}, "invalid_request"),
        ({"callback_url": "http://evil.example/hook"}, "callback_not_allowed"),
        ({"script_content": "x" * 30_000}, "script_too_long"),
    ],
)
def test_bad_create_is_refused_and_writes_nothing(service, change, code):
    before = snapshot(service.data_dir)
    with service.client() as client:
        response = client.post("/api/v1/storyboard/create", json={**BASE, **change})
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == code and body["message"]
    assert "Traceback" not in response.text and str(service.data_dir) not in response.text
    assert snapshot(service.data_dir) == before


def test_missing_fields_and_huge_body(service):
    before = snapshot(service.data_dir)
    with service.client() as client:
        missing = client.post("/api/v1/storyboard/create", json={"operation_id": "op-x"})
        assert missing.status_code == 422
        assert missing.json()["code"] == "invalid_request"
        fields = {e["field"] for e in missing.json()["details"]["errors"]}
        assert {"story_id", "user_id", "script_content"} <= fields
        huge = client.post("/api/v1/storyboard/create", json={**BASE, "script_content": "字" * 1_000_000})
        assert huge.status_code == 413 and huge.json()["code"] == "payload_too_large"
        not_json = client.post("/api/v1/video/render", content=b"{not json",
                               headers={"content-type": "application/json"})
        assert not_json.status_code == 422 and not_json.json()["code"] == "invalid_request"
    assert snapshot(service.data_dir) == before


def test_same_operation_id_is_one_operation(service):
    with service.client() as client:
        first = client.post("/api/v1/storyboard/create", json=BASE)
        again = client.post("/api/v1/storyboard/create", json=BASE)
        assert (first.status_code, again.status_code) == (202, 200)
        assert again.json()["operation_id"] == "op-a"
        other = client.post("/api/v1/storyboard/create", json={**BASE, "style": "oil painting"})
        assert other.status_code == 409 and other.json()["code"] == "operation_id_conflict"
        ids = {k: BASE[k] for k in ("operation_id", "story_id", "user_id")}
        as_render = client.post("/api/v1/video/render", json=ids)
        assert as_render.status_code == 409
        assert wait_for(client, "op-a")["status"] == "succeeded"
    assert len(os.listdir(service.data_dir / "operations")) == 1


def test_unknown_ids_and_other_users_get_404(service):
    with service.client() as client:
        client.post("/api/v1/storyboard/create", json=BASE)
        assert wait_for(client, "op-a")["status"] == "succeeded"
        regen = {"operation_id": "op-r", "story_id": "story-a", "user_id": "u-1", "shot_id": "shot_99",
                 "detail": "x"}
        unknown_shot = client.post("/api/v1/shot/regenerate", json=regen)
        assert unknown_shot.status_code == 404
        assert unknown_shot.json()["code"] == "shot_not_found"
        assert "shot_01" in unknown_shot.json()["details"]["existing_shot_ids"]

        unknown_story = client.post("/api/v1/video/render", json={"operation_id": "op-s", "story_id": "nope",
                                                                   "user_id": "u-1"})
        assert unknown_story.status_code == 404
        assert unknown_story.json()["details"]["existing_story_ids"] == ["story-a"]

        intruder = client.post("/api/v1/video/render", json={"operation_id": "op-i", "story_id": "story-a",
                                                              "user_id": "u-2"})
        assert intruder.status_code == 404 and intruder.json()["code"] == "story_not_found"
        assert client.get("/api/v1/stories/story-a", params={"user_id": "u-2"}).status_code == 404
        assert client.get("/api/v1/stories/story-a", headers={"X-User-Id": "u-1"}).status_code == 200
        taken = client.post("/api/v1/storyboard/create", json={**BASE, "operation_id": "op-t", "user_id": "u-2"})
        assert taken.status_code == 409 and taken.json()["code"] == "story_id_taken"
        assert client.get("/api/v1/operations/does-not-exist").json()["code"] == "operation_not_found"


def test_detail_aliases_are_accepted(service):
    with service.client() as client:
        client.post("/api/v1/storyboard/create", json=BASE)
        wait_for(client, "op-a")
        regen = {"operation_id": "op-p", "story_id": "story-a", "user_id": "u-1", "shot_id": "shot_02",
                 "prompt": "First the fox sits, then it looks up, finally it howls at the moon."}
        assert client.post("/api/v1/shot/regenerate", json=regen).status_code == 202
        assert wait_for(client, "op-p")["status"] == "succeeded"
        shot = client.get("/api/v1/stories/story-a").json()["shots"][1]
        assert shot["detail"] == regen["prompt"]


def test_render_without_storyboard_is_a_clear_4xx(start_service):
    service = start_service({"LLM_PROVIDER": "tests.fakes:failing_planner", "LLM_FALLBACK": "none"})
    with service.client() as client:
        client.post("/api/v1/storyboard/create", json=BASE)
        failed = wait_for(client, "op-a")
        assert failed["status"] == "failed"
        assert failed["error"]["stage"] == "storyboard"
        render = client.post("/api/v1/video/render", json={"operation_id": "op-v", "story_id": "story-a",
                                                            "user_id": "u-1"})
        assert render.status_code == 409 and render.json()["code"] == "storyboard_missing"


@pytest.mark.parametrize("change", [{"multi": 5}, {"multi": 0}, {"scale": 8}, {"scale": "two"}, {"enhance": "maybe"}])
def test_render_enhance_fields_are_validated(service, change):
    with service.client() as client:
        client.post("/api/v1/storyboard/create", json=BASE)
        wait_for(client, "op-a")
        refused = client.post("/api/v1/video/render", json={"operation_id": "op-e", "story_id": "story-a",
                                                             "user_id": "u-1", "enhance": True, **change})
        assert refused.status_code == 422 and refused.json()["code"] == "invalid_request"
        assert client.get("/api/v1/operations/op-e").status_code == 404


def test_api_key_protects_the_api(start_service):
    service = start_service({"API_KEY": "s3cret-token"})
    with service.client() as client:
        refused = client.post("/api/v1/storyboard/create", json=BASE)
        assert refused.status_code == 401 and refused.json()["code"] == "unauthorized"
        ok = client.post("/api/v1/storyboard/create", json=BASE, headers={"Authorization": "Bearer s3cret-token"})
        assert ok.status_code == 202
        assert client.get("/healthz").status_code == 200
    assert "s3cret-token" not in service.log()


def test_openapi_carries_the_curl_examples(service):
    with service.client() as client:
        spec = client.get("/openapi.json").json()
    schemas = spec["components"]["schemas"]
    assert schemas["CreateStoryboardRequest"]["examples"][0]["script_content"] == "小狗找妈妈的故事"
    assert schemas["RegenerateShotRequest"]["examples"][0]["shot_id"] == "shot_03"
    assert schemas["RenderVideoRequest"]["examples"][0]["operation_id"] == "op-004"
