"""Scale-out acceptance (issue 12): API and worker processes on a throw-away PostgreSQL database."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

from app.models.operation import Operation
from app.models.story import Story
from tests.media import stream_duration
from tests.receiver import CallbackReceiver
from tests.scaleout import query
from tests.server import wait_for

SCRIPT = "A fox looks for the moon. It climbs a hill. It sees the sea. It sleeps under a tree."
ENV = {"VIDEO_WIDTH": "320", "VIDEO_HEIGHT": "180", "VIDEO_FPS": "12", "SHOT_MIN_S": "1.0",
       "CLIP_PROVIDER": "tests.fakes:counting_clips", "KEYFRAME_PROVIDER": "tests.fakes:counting_keyframes",
       "SLOW_CLIP_S": "0.3", "CALLBACK_RETRY_BASE_S": "0.2", "CALLBACK_RETRY_MAX_S": "1",
       "STALLED_AFTER_S": "3", "HEARTBEAT_S": "0.5", "WORKER_CONCURRENCY": "2", "FFMPEG_MAX_PROCESSES": "2"}


def create_body(story: str, op: str) -> dict:
    return {"operation_id": op, "story_id": story, "user_id": "u-1", "display_name": "Fox",
            "script_content": SCRIPT, "style": ""}


def calls(log: Path) -> list[tuple[str, str, str, str, str]]:
    return [tuple(line.split()) for line in log.read_text().splitlines()] if log.exists() else []  # type: ignore[misc]


def test_six_stories_on_three_workers(cluster, tmp_path: Path) -> None:
    log = tmp_path / "calls.log"
    c = cluster(**ENV, CALL_LOG=str(log))
    api = c.api()
    for name in ("w1", "w2", "w3"):
        c.worker(name)
    stories = [f"story-{i}" for i in range(6)]
    with api.client() as client:
        for s in stories:  # create then render, back to back: the render must wait for its storyboard
            assert client.post("/api/v1/storyboard/create", json=create_body(s, f"c-{s}")).status_code == 202
            answer = client.post("/api/v1/video/render", json={"operation_id": f"r-{s}", "story_id": s,
                                                                "user_id": "u-1"})
            assert answer.status_code == 202, answer.text
        final = {op: wait_for(client, op, timeout_s=300) for s in stories for op in (f"c-{s}", f"r-{s}")}
    assert all(v["status"] == "succeeded" for v in final.values()), ({o: v["error"] for o, v in final.items()},
                                                                     c.logs())
    for s in stories:
        video = tmp_path / "media" / final[f"r-{s}"]["result"]["video_url"].split("/media/", 1)[1]
        assert stream_duration(video, "video") > 1.0
        created, rendered = (final[f"{k}-{s}"] for k in ("c", "r"))
        assert created["finished_at"] <= rendered["started_at"], "a story's operations ran out of order"
    ran_on = {pid for kind, _, _, _, pid in calls(log) if kind == "end"}
    assert len(ran_on) >= 2, f"every job ran on one worker: {ran_on}"
    jobs = query(c.url, "SELECT args->>'operation_id', count(*) FROM procrastinate_jobs "
                 "WHERE task_name = 'story2video.run_operation' GROUP BY 1")
    assert all(n == 1 for _, n in jobs) and len(jobs) == 12


def test_sigkill_of_a_worker_mid_clips_loses_and_redoes_nothing(cluster, tmp_path: Path) -> None:
    log = tmp_path / "calls.log"
    with CallbackReceiver() as receiver:
        c = cluster(**{**ENV, "SLOW_CLIP_S": "1.0", "MAX_PARALLEL_SHOTS": "1"}, CALL_LOG=str(log),
                    CALLBACK_URL=receiver.url)
        api = c.api()
        c.worker("w1")
        with api.client() as client:
            assert client.post("/api/v1/storyboard/create", json=create_body("fox", "c-fox")).status_code == 202
            assert wait_for(client, "c-fox", timeout_s=120)["status"] == "succeeded"
            c.worker("w2")
            assert client.post("/api/v1/video/render", json={"operation_id": "r-fox", "story_id": "fox",
                                                              "user_id": "u-1"}).status_code == 202
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:  # mid-clips: at least one clip attached, not all
                story = query(c.url, "SELECT data FROM s2v_stories WHERE story_id = 'fox'")[0][0]
                done = [s["id"] for s in story["shots"] if s.get("clip")]
                if done and len(done) < len(story["shots"]):
                    break
                time.sleep(0.05)
            running = [pid for kind, what, story_id, _, pid in calls(log) if what == "clip" and story_id == "fox"]
            victim = c.worker_by_pid(int(running[-1]))
            assert victim is not None and done, c.logs()
            c.workers[victim].kill()
            killed_at = time.time()
            final = wait_for(client, "r-fox", timeout_s=180)
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and not any(e["event"] == "operation.succeeded"
                                                          for e in receiver.events("r-fox")):
                time.sleep(0.2)
    assert final["status"] == "succeeded", (final["error"], c.logs())
    started = [(shot, pid) for kind, what, story, shot, pid in calls(log) if kind == "start" and what == "clip"]
    for shot in done:  # a clip attached before the kill was not drawn again
        assert sum(1 for s, _ in started if s == shot) == 1, (shot, started)
    keyframes = [shot for kind, what, _, shot, _ in calls(log) if kind == "start" and what == "keyframe"]
    assert len(keyframes) == len(set(keyframes)), "a keyframe was drawn twice"
    survivor = next(n for n in c.workers if n != victim)
    assert "fetched" in c.workers[survivor].log(), "the surviving worker did not fetch the assets it lacked"
    expected = {"c-fox": ["storyboard", "keyframe"], "r-fox": ["narration", "clip", "compose", "publish"]}
    for op, stages in expected.items():
        events = receiver.events(op)
        first_seen: list[tuple[str, str]] = []
        for e in events:  # at-least-once: a duplicate (same id, same body) may follow; the order of firsts holds
            if (e["event"], e["stage"]) not in first_seen:
                first_seen.append((e["event"], e["stage"]))
        assert first_seen[:len(stages)] == [("operation.stage_completed", s) for s in stages], first_seen
        assert first_seen[-1][0] == "operation.succeeded" and len(first_seen) == len(stages) + 1, first_seen
    bodies: dict[str, set[bytes]] = {}
    for record in receiver.accepted:
        bodies.setdefault(record["event"]["event_id"], set()).add(record["body"])
    assert all(len(b) == 1 for b in bodies.values()), "an event id was sent with different bodies"
    assert killed_at > 0
    rows = query(c.url, "SELECT count(*) FROM s2v_outbox WHERE delivered_at IS NULL")
    assert rows[0][0] == 0
    for (data,) in query(c.url, "SELECT data FROM s2v_operations"):  # every row is whole
        Operation.model_validate(data)
    for (data,) in query(c.url, "SELECT data FROM s2v_stories"):
        Story.model_validate(data)


def test_cancel_sent_to_an_api_stops_a_render_on_a_worker_within_two_seconds(cluster) -> None:
    c = cluster(**{**ENV, "SLOW_CLIP_S": "5", "MAX_PARALLEL_SHOTS": "1"})
    api_a, api_b = c.api(), c.api()
    c.worker("w1")
    with api_a.client() as a, api_b.client() as b:
        assert a.post("/api/v1/storyboard/create", json=create_body("fox", "c-fox")).status_code == 202
        assert wait_for(a, "c-fox", timeout_s=120)["status"] == "succeeded"
        assert a.post("/api/v1/video/render", json={"operation_id": "r-fox", "story_id": "fox",
                                                     "user_id": "u-1"}).status_code == 202
        deadline = time.monotonic() + 60
        while a.get("/api/v1/operations/r-fox").json()["stage"] != "clip" and time.monotonic() < deadline:
            time.sleep(0.1)
        started = time.monotonic()
        answer = b.post("/api/v1/operations/r-fox/cancel")
        assert answer.status_code in (200, 202), answer.text
        while b.get("/api/v1/operations/r-fox").json()["status"] != "cancelled":
            assert time.monotonic() - started < 2.0, c.logs()
            time.sleep(0.05)
    assert time.monotonic() - started < 2.0
    assert "doing" not in c.job_status("r-fox")


def test_sigkill_of_the_api_during_a_burst_of_admissions(cluster) -> None:
    import concurrent.futures

    import httpx

    c = cluster(**{**ENV, "STORYBOARD_PROVIDER": "embedded"})
    api = c.api()
    c.worker("w1", WORKER_CONCURRENCY="4")
    accepted: list[str] = []

    def post(i: int) -> str | None:
        try:
            r = httpx.post(api.base_url + "/api/v1/storyboard/create",
                           json=create_body(f"s{i}", f"c{i}"), timeout=10)
        except httpx.TransportError:
            return None
        if r.status_code in (200, 202):
            answered.append(i)
            return f"c{i}"
        return None

    answered: list[int] = []
    with concurrent.futures.ThreadPoolExecutor(25) as pool:
        futures = [pool.submit(post, i) for i in range(50)]
        deadline = time.monotonic() + 30
        while len(answered) < 15 and time.monotonic() < deadline:
            time.sleep(0.005)
        api.kill()  # mid-burst: some answered, some in flight, some not sent yet
        accepted = [op for f in futures if (op := f.result())]
    assert 0 < len(accepted) < 50, f"the kill did not fall inside the burst ({len(accepted)} answered 2xx)"
    api2 = c.api()
    with api2.client() as client:
        final = {op: wait_for(client, op, timeout_s=300) for op in accepted}
    assert all(v["status"] == "succeeded" for v in final.values()), {o: v["error"] for o, v in final.items()}
    ops = query(c.url, "SELECT operation_id FROM s2v_operations")
    jobs = query(c.url, "SELECT args->>'operation_id', count(*) FROM procrastinate_jobs "
                 "WHERE task_name = 'story2video.run_operation' GROUP BY 1")
    assert set(accepted) <= {o for (o,) in ops}
    assert all(n == 1 for _, n in jobs), "an operation was queued twice"
    assert {o for o, _ in jobs} == {o for (o,) in ops}, "an operation row without its job, or the reverse"


def test_sigterm_hands_the_running_job_back(cluster) -> None:
    c = cluster(**{**ENV, "SLOW_CLIP_S": "2", "MAX_PARALLEL_SHOTS": "1", "SHUTDOWN_GRACE_S": "0.5"})
    api = c.api()
    c.worker("w1")
    with api.client() as client:
        assert client.post("/api/v1/storyboard/create", json=create_body("fox", "c-fox")).status_code == 202
        assert wait_for(client, "c-fox", timeout_s=120)["status"] == "succeeded"
        assert client.post("/api/v1/video/render", json={"operation_id": "r-fox", "story_id": "fox",
                                                          "user_id": "u-1"}).status_code == 202
        while client.get("/api/v1/operations/r-fox").json()["stage"] != "clip":
            time.sleep(0.1)
        assert c.workers["w1"].stop(20) == 0, c.logs()
        assert client.get("/api/v1/operations/r-fox").json()["status"] == "running"
        c.worker("w2")
        assert wait_for(client, "r-fox", timeout_s=180)["status"] == "succeeded", c.logs()


def test_a_worker_inside_the_api_process(cluster) -> None:
    c = cluster(**ENV, WORKER_IN_API="true")
    api = c.api()
    with api.client() as client:
        assert client.post("/api/v1/storyboard/create", json=create_body("fox", "c-fox")).status_code == 202
        assert wait_for(client, "c-fox", timeout_s=120)["status"] == "succeeded", c.logs()
        assert client.get("/readyz").json()["queue"]["workers"] == 1


def test_the_embedded_mode_needs_no_database(start_service) -> None:
    service = start_service({"MIN_FREE_DISK_MB": "0"})
    with service.client() as client:
        assert "queue" not in client.get("/readyz").json()


def test_readyz_reports_the_database_and_the_queue(cluster) -> None:
    c = cluster(**ENV)
    api = c.api()
    c.worker("w1")
    with api.client() as client:
        report = client.get("/readyz").json()
    assert report["queue"]["ready"] and report["queue"]["workers"] == 1
    assert {"waiting", "running", "oldest_waiting_s"} <= set(report["queue"])


def test_import_json_moves_an_embedded_data_dir(cluster, tmp_path: Path, database: str) -> None:
    import os
    import sys

    from tests.server import REPO, ServiceProcess

    data = tmp_path / "embedded"
    service = ServiceProcess(data, {**ENV, "MIN_FREE_DISK_MB": "0"}).start()
    with service.client() as client:
        assert client.post("/api/v1/storyboard/create", json=create_body("fox", "c-fox")).status_code == 202
        assert wait_for(client, "c-fox", timeout_s=120)["status"] == "succeeded"
    service.stop()
    env = {**os.environ, "DATABASE_URL": database}
    done = subprocess.run([sys.executable, "-m", "app.cli", "db", "import-json", "--data-dir", str(data)],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "1 stories, 1 operations" in done.stdout
    again = subprocess.run([sys.executable, "-m", "app.cli", "db", "import-json", "--data-dir", str(data)],
                           cwd=REPO, env=env, capture_output=True, text=True, timeout=60)
    assert "0 stories, 0 operations" in again.stdout
    c = cluster(**ENV, MEDIA_DIR=str(data / "media"))
    api = c.api()
    c.worker("w1")
    with api.client() as client:
        assert client.get("/api/v1/operations/c-fox").json()["status"] == "succeeded"
        assert client.post("/api/v1/video/render", json={"operation_id": "r-fox", "story_id": "fox",
                                                          "user_id": "u-1"}).status_code == 202
        assert wait_for(client, "r-fox", timeout_s=180)["status"] == "succeeded", c.logs()


def test_db_upgrade_from_empty_is_idempotent(database: str) -> None:
    import os
    import sys

    from tests.server import REPO

    tables = {r[0] for r in query(database, "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}
    assert {"s2v_stories", "s2v_operations", "s2v_outbox", "s2v_schema_migrations", "procrastinate_jobs"} <= tables
    assert query(database, "SELECT version, name FROM s2v_schema_migrations") == [(1, "0001_state")]
    again = subprocess.run([sys.executable, "-m", "app.cli", "db", "upgrade"], cwd=REPO, capture_output=True,
                           text=True, env={**os.environ, "DATABASE_URL": database}, timeout=60)
    assert again.returncode == 0 and "up to date" in again.stdout, again.stderr
