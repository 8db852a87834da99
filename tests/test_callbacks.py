"""Signed callbacks from a persisted outbox: every stage and final event, retried, in order."""

from __future__ import annotations

import time

from app.services.callbacks import signing
from tests.receiver import CallbackReceiver
from tests.server import wait_for

SECRET = "callback-secret-123"
CREATE = {"operation_id": "op-cb", "story_id": "story-cb", "user_id": "u-1", "display_name": "Fox",
          "script_content": "A fox looks for the moon.", "style": "paper cut"}


def wait_events(receiver: CallbackReceiver, operation_id: str, final: str, timeout_s: float = 60) -> list[dict]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        events = receiver.events(operation_id)
        if events and events[-1]["event"] == final:
            return events
        time.sleep(0.1)
    raise TimeoutError(f"no {final} for {operation_id}: {receiver.events(operation_id)}")


def test_every_stage_and_final_event_arrives_signed(start_service):
    with CallbackReceiver() as receiver:
        service = start_service({"CALLBACK_URL": receiver.url, "CALLBACK_SECRET": SECRET})
        with service.client() as client:
            client.post("/api/v1/storyboard/create", json=CREATE)
            wait_for(client, "op-cb")
            events = wait_events(receiver, "op-cb", "operation.succeeded")
        assert [(e["event"], e["stage"]) for e in events] == [
            ("operation.stage_completed", "storyboard"),
            ("operation.stage_completed", "keyframe"),
            ("operation.succeeded", "done"),
        ]
        final = events[-1]
        assert final["status"] == "succeeded" and final["type"] == "story_create"
        assert final["result"]["shots"][0]["image_url"].startswith(service.base_url)
        for record in receiver.accepted:
            headers = {k.lower(): v for k, v in record["headers"].items()}
            assert headers[signing.EVENT_ID_HEADER.lower()] == record["event"]["event_id"]
            assert signing.verify(SECRET, headers[signing.TIMESTAMP_HEADER.lower()], record["body"],
                                  headers[signing.SIGNATURE_HEADER.lower()])
            assert not signing.verify("wrong", headers[signing.TIMESTAMP_HEADER.lower()], record["body"],
                                      headers[signing.SIGNATURE_HEADER.lower()])
        assert SECRET not in service.log()


def test_refused_events_are_retried_with_the_same_ids_in_order(start_service):
    with CallbackReceiver(refuse_first=4) as receiver:
        service = start_service({"CALLBACK_URL": receiver.url, "CALLBACK_SECRET": SECRET,
                                 "CALLBACK_RETRY_BASE_S": "0.2", "CALLBACK_RETRY_MAX_S": "1"})
        with service.client() as client:
            client.post("/api/v1/storyboard/create", json=CREATE)
            assert wait_for(client, "op-cb")["status"] == "succeeded"
            events = wait_events(receiver, "op-cb", "operation.succeeded")
    refused_ids = [r["event"]["event_id"] for r in receiver.attempts[:4]]
    accepted_ids = [e["event_id"] for e in events]
    assert len(accepted_ids) == len(set(accepted_ids)) == 3
    assert set(refused_ids) <= set(accepted_ids)
    assert refused_ids[0] == accepted_ids[0]  # the first event was held back, not skipped
    assert [e["stage"] for e in events] == ["storyboard", "keyframe", "done"]
    assert not list((service.data_dir / "outbox").rglob("*.json"))


def test_undelivered_events_survive_a_restart(start_service, tmp_path):
    with CallbackReceiver(refuse_first=10**6) as receiver:
        env = {"CALLBACK_URL": receiver.url, "CALLBACK_RETRY_BASE_S": "0.2", "CALLBACK_RETRY_MAX_S": "0.5"}
        service = start_service(env)
        with service.client() as client:
            client.post("/api/v1/storyboard/create", json=CREATE)
            assert wait_for(client, "op-cb")["status"] == "succeeded"
        service.kill()
        assert len(list((tmp_path / "data" / "outbox").rglob("*.json"))) == 3
        receiver.refuse_left = 0
        start_service(env)
        events = wait_events(receiver, "op-cb", "operation.succeeded")
    assert [e["stage"] for e in events] == ["storyboard", "keyframe", "done"]
