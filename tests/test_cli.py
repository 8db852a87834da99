"""The CLI against a running server (create, regenerate, render, status, watch, outbox, link) and `doctor`."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.receiver import CallbackReceiver
from tests.server import REPO, free_port, wait_for

STORY = {"display_name": "小狗找妈妈", "style": "温馨可爱",
         "script_content": "小狗豆豆醒来发现妈妈不见了。它跑出家门。天黑了，它很害怕。它听见妈妈的叫声。它们一起回家。"}
SMALL = {"VIDEO_WIDTH": "320", "VIDEO_HEIGHT": "180", "VIDEO_FPS": "12", "SHOT_MIN_S": "1.0"}


def cli(*args: str, env: dict[str, str] | None = None, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1", **(env or {})}
    return subprocess.run([sys.executable, "-m", "app.cli", *args], cwd=REPO, env=full_env, capture_output=True,
                          text=True, timeout=timeout)


def test_doctor_passes_on_a_complete_machine_and_names_a_missing_font_or_backend(tmp_path: Path):
    base = {"DATA_DIR": str(tmp_path / "data")}
    healthy = cli("doctor", env=base)
    assert healthy.returncode == 0, healthy.stdout + healthy.stderr
    assert "all good" in healthy.stdout

    no_font = cli("doctor", env={**base, "SUBTITLE_FONT": "Missing Font Family XYZ"})
    assert no_font.returncode == 1
    assert re.search(r"problem: subtitle font: .*Missing Font Family XYZ", no_font.stdout), no_font.stdout

    down = f"http://127.0.0.1:{free_port()}"
    no_backend = cli("doctor", "--json", env={**base, "CLIP_PROVIDER": "hunyuan", "HUNYUAN_BASE_URL": down})
    assert no_backend.returncode == 1
    report = json.loads(no_backend.stdout)
    failed = {c["name"]: c["detail"] for c in report["checks"] if c["level"] == "fail"}
    assert report["ok"] is False and list(failed) == ["clip:hunyuan"]
    assert down in failed["clip:hunyuan"]


def test_create_render_watch_status_and_regenerate_through_the_cli(start_service, tmp_path: Path):
    service = start_service({**SMALL, "CLIP_PROVIDER": "tests.fakes:slow_clips", "SLOW_CLIP_S": "0.4",
                             "MAX_PARALLEL_SHOTS": "1"})
    server = ("--server", service.base_url)
    story_file = tmp_path / "story.json"
    story_file.write_text(json.dumps({**STORY, "story_id": "story-cli", "user_id": "u-cli"}, ensure_ascii=False))

    created = cli("create", "--file", str(story_file), "--operation-id", "op-cli-1", "--wait", *server)
    assert created.returncode == 0, created.stdout + created.stderr
    assert "succeeded" in created.stdout and "contact_sheet_url" in created.stdout

    accepted = cli("render", "story-cli", "--transition", "crossfade", "--json", *server)
    assert accepted.returncode == 0, accepted.stderr
    render = json.loads(accepted.stdout)
    assert render["status"] in ("queued", "running") and render["type"] == "video_render"

    watched = cli("watch", render["operation_id"], *server)
    assert watched.returncode == 0, watched.stdout + watched.stderr
    out = watched.stdout
    percents = [float(p) for p in re.findall(r"\]\s+([\d.]+)% ", out)]
    assert len(set(percents)) >= 3, out  # the bar moved while the render ran
    assert percents == sorted(percents) and percents[-1] == 100.0
    for stage in ("narration", "clip", "compose", "publish"):
        assert f"✓ {stage}" in out
    assert re.search(r"succeeded .*video_render", out) and "video_url" in out

    status = cli("status", render["operation_id"], "--json", *server)
    op = json.loads(status.stdout)
    assert status.returncode == 0 and op["status"] == "succeeded"
    assert op["result"]["video_url"] and op["stage_seconds"]["compose"] > 0

    regenerated = cli("regenerate", "story-cli", "shot_02", "--detail", "雨夜，豆豆躲在屋檐下。", "--wait", "--json",
                      *server)
    assert regenerated.returncode == 0, regenerated.stdout + regenerated.stderr
    lines = [json.loads(line) for line in regenerated.stdout.splitlines()]
    assert [e["event"] for e in lines][-1] == "operation.succeeded"
    assert lines[-1]["result"]["keyframe_version"] == 2

    story = cli("status", "--story", "story-cli", *server)
    assert story.returncode == 0 and "shot_02" in story.stdout and "小狗找妈妈" in story.stdout

    refused = cli("render", "no-such-story", *server)
    assert refused.returncode == 2 and "story_not_found" in refused.stderr
    unreachable = cli("status", "x", "--server", f"http://127.0.0.1:{free_port()}")
    assert unreachable.returncode == 2 and "cannot reach" in unreachable.stderr


def test_outbox_lists_parked_callbacks_and_redelivers_them(start_service):
    with CallbackReceiver(refuse_first=10**6) as receiver:
        service = start_service({"CALLBACK_URL": receiver.url + "?token=secret-in-url", "CALLBACK_MAX_ATTEMPTS": "1",
                                 "CALLBACK_RETRY_BASE_S": "0.1"})
        server = ("--server", service.base_url)
        with service.client() as client:
            client.post("/api/v1/storyboard/create", json={**STORY, "operation_id": "op-ob", "story_id": "story-ob",
                                                           "user_id": "u-1"})
            assert wait_for(client, "op-ob")["status"] == "succeeded"
        deadline = time.monotonic() + 60
        parked: list = []
        while time.monotonic() < deadline and len(parked) < 3:
            parked = json.loads(cli("outbox", "--dead", "--json", *server).stdout)["dead"]
            time.sleep(0.2)
        assert [e["stage"] for e in parked] == ["storyboard", "keyframe", "done"]
        assert all("secret-in-url" not in e["target"] and e["attempts"] == 1 for e in parked)
        table = cli("outbox", *server)
        assert table.returncode == 0 and "dead (3)" in table.stdout and parked[0]["event_id"] in table.stdout

        receiver.refuse_left = 0
        one = cli("outbox", "--redeliver", parked[0]["event_id"], "--redeliver", "not-parked", *server)
        assert one.returncode == 1 and "not-parked" in one.stderr
        rest = cli("outbox", "--all", "--json", *server)
        assert rest.returncode == 0 and len(json.loads(rest.stdout)["redelivered"]) == 2
        while time.monotonic() < deadline and len(receiver.events("op-ob")) < 3:
            time.sleep(0.1)
        assert [e["stage"] for e in receiver.events("op-ob")] == ["storyboard", "keyframe", "done"]
        empty = json.loads(cli("outbox", "--json", *server).stdout)
        assert empty == {"pending": [], "dead": []}


def test_link_opens_the_studio_without_the_api_key(start_service):
    service = start_service({"API_KEY": "cli-key-123"})
    with service.client(headers={"Authorization": "Bearer cli-key-123"}) as client:
        client.post("/api/v1/storyboard/create", json={**STORY, "operation_id": "op-l", "story_id": "story-l",
                                                       "user_id": "u-1"})
        assert wait_for(client, "op-l")["status"] == "succeeded"
    made = cli("link", "story-l", "--json", "--server", service.base_url, "--api-key", "cli-key-123")
    assert made.returncode == 0, made.stderr
    url = json.loads(made.stdout)["url"]
    assert "/studio/stories/story-l?token=" in url
    assert cli("link", "--server", service.base_url, "--api-key", "wrong").returncode == 2
    with httpx.Client(timeout=30) as browser:
        assert browser.get(service.base_url + "/studio/stories/story-l").status_code == 303  # to sign-in
        page = browser.get(url, follow_redirects=True)
        assert page.status_code == 200 and "小狗找妈妈" in page.text
        assert "token=" not in str(page.url)
