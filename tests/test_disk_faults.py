"""Disk faults on a real file system: DATA_DIR on a small tmpfs, remounted read-only, or filled up.

Needs root (CI runs as root): `mount -t tmpfs`. The service process is never restarted in these tests.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.receiver import CallbackReceiver
from tests.server import wait_for

SMALL = {"VIDEO_WIDTH": "320", "VIDEO_HEIGHT": "180", "VIDEO_FPS": "12", "SHOT_MIN_S": "1.0", "MIN_FREE_DISK_MB": "0"}
IDS = {"story_id": "story-d", "user_id": "u-1"}
CREATE = {"operation_id": "op-c", **IDS, "display_name": "Fox", "style": "",
          "script_content": "A fox looks for the moon. It climbs a hill. It sees the sea."}


def mount(*args: str) -> None:
    subprocess.run(["mount", *args], check=True, capture_output=True)


@pytest.fixture
def tmpfs(tmp_path: Path) -> Iterator[Path]:
    target = tmp_path / "data"
    target.mkdir()
    mount("-t", "tmpfs", "-o", "size=48m", "tmpfs", str(target))
    try:
        yield target
    finally:
        subprocess.run(["umount", "-l", str(target)], check=False)


def state_files(data: Path) -> set[Path]:
    """Everything under DATA_DIR but the 64 striped lock files (empty, bounded, made on first use)."""
    return {p.relative_to(data) for p in data.rglob("*") if p.relative_to(data).parts[0] != "locks"}


def wait_final(receiver: CallbackReceiver, operation_id: str, timeout_s: float = 90) -> list[dict]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        events = receiver.events(operation_id)
        if events and events[-1]["event"].startswith("operation.") and events[-1]["status"] != "running":
            return events
        time.sleep(0.2)
    raise TimeoutError(receiver.events(operation_id))


def test_a_read_only_data_dir_during_a_render_heals_without_a_restart(start_service, tmpfs: Path) -> None:
    with CallbackReceiver(refuse_first=3) as receiver:
        service = start_service({**SMALL, "CALLBACK_URL": receiver.url, "CALLBACK_RETRY_BASE_S": "0.3",
                                 "CALLBACK_RETRY_MAX_S": "1", "CLIP_PROVIDER": "tests.fakes:slow_clips",
                                 "SLOW_CLIP_S": "1.5"}, data_dir=tmpfs)
        pid = service.proc.pid
        with service.client() as client:
            client.post("/api/v1/storyboard/create", json=CREATE)
            assert wait_for(client, "op-c")["status"] == "succeeded"
            client.post("/api/v1/video/render", json={"operation_id": "op-r", **IDS})
            deadline = time.monotonic() + 30
            while client.get("/api/v1/operations/op-r").json()["stage"] != "clip" and time.monotonic() < deadline:
                time.sleep(0.1)
            mount("-o", "remount,ro", str(tmpfs))
            try:
                time.sleep(4)
                ready = client.get("/readyz")
                assert ready.status_code == 503
                report = ready.json()
                assert report["storage"]["writable"] is False and "storage:data_dir" in report["not_ready"]
                assert report["degraded"], report  # the outbox or the runner says what fails
            finally:
                mount("-o", "remount,rw", str(tmpfs))
            rendered = wait_for(client, "op-r", timeout_s=120)
            assert rendered["status"] in ("succeeded", "failed")
            events = wait_final(receiver, "op-r") + wait_final(receiver, "op-c")
            deadline = time.monotonic() + 30
            while client.get("/readyz").status_code != 200 and time.monotonic() < deadline:
                time.sleep(0.3)
            assert client.get("/readyz").status_code == 200  # degraded no more
        assert service.proc.pid == pid and service.proc.poll() is None  # healed without a restart
    bodies: dict[str, set[bytes]] = {}
    for record in receiver.attempts:
        bodies.setdefault(record["event"]["event_id"], set()).add(record["body"])
    assert all(len(b) == 1 for b in bodies.values()), "a retried event changed its body"
    assert [e["event"] for e in events if e["operation_id"] == "op-c"][-1] == "operation.succeeded"


def test_a_full_disk_refuses_with_storage_full_writes_nothing_and_recovers(start_service, tmpfs: Path) -> None:
    service = start_service(SMALL, data_dir=tmpfs)
    with service.client() as client:
        client.post("/api/v1/storyboard/create", json=CREATE)
        assert wait_for(client, "op-c")["status"] == "succeeded"
        filler = tmpfs / "filler.bin"
        subprocess.run(["dd", "if=/dev/zero", f"of={filler}", "bs=1M"], capture_output=True, check=False)
        before = state_files(tmpfs)
        refused = client.post("/api/v1/video/render", json={"operation_id": "op-r", **IDS})
        assert refused.status_code == 507 and refused.json()["code"] == "storage_full"
        other = client.post("/api/v1/storyboard/create", json={**CREATE, "operation_id": "op-2", "story_id": "s-2"})
        assert other.status_code == 507
        assert state_files(tmpfs) == before  # nothing half-written
        assert client.get("/readyz").status_code == 503
        os.remove(filler)
        again = client.post("/api/v1/video/render", json={"operation_id": "op-r", **IDS})
        assert again.status_code == 202
        done = wait_for(client, "op-r", timeout_s=120)
        assert done["status"] == "succeeded", done["error"]
        assert client.get(done["result"]["video_url"]).status_code == 200
