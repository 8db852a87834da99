"""Scale-out test harness: a throw-away PostgreSQL database per test, API and worker processes on it.

PostgreSQL is expected on 127.0.0.1:5432 (trust auth, user postgres; PG_ADMIN_URL overrides); scripts/setup.sh
starts it (scripts/postgres.sh). Without it these tests fail, naming what is missing.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests.server import REPO, ServiceProcess

ADMIN_URL = os.environ.get("PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def admin_connect() -> psycopg.Connection[Any]:
    try:
        return psycopg.connect(ADMIN_URL, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        pytest.fail(f"PostgreSQL is not reachable at {ADMIN_URL} (scripts/postgres.sh starts it): {exc}")


@pytest.fixture
def database() -> Iterator[str]:
    """A new empty database, upgraded by `python -m app.cli db upgrade`; dropped afterwards."""
    name = f"s2v_test_{uuid.uuid4().hex[:12]}"
    with admin_connect() as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    try:
        done = subprocess.run([sys.executable, "-m", "app.cli", "db", "upgrade"], cwd=REPO, capture_output=True,
                              text=True, env={**os.environ, "DATABASE_URL": url}, timeout=60)
        assert done.returncode == 0, done.stderr + done.stdout
        yield url
    finally:
        with admin_connect() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def query(url: str, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute(sql, args).fetchall()


class WorkerProcess:
    """`python -m app.cli worker` with its own DATA_DIR; started once it is registered in the database."""

    def __init__(self, name: str, data_dir: Path, env: dict[str, str]):
        self.name, self.data_dir = name, data_dir
        # INFO: the harness sees from the log that the worker registered
        self.env = {**os.environ, "DATA_DIR": str(data_dir), "WORKER_NAME": name, **env, "LOG_LEVEL": "INFO"}
        self.log_path = data_dir.parent / f"worker-{name}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout_s: float = 30) -> WorkerProcess:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen([sys.executable, "-m", "app.cli", "worker"], cwd=REPO, env=self.env,
                                         stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"worker exited at start-up:\n{self.log()}")
            if self.registered(self.env["DATABASE_URL"]):
                return self
            time.sleep(0.1)
        raise RuntimeError(f"worker did not register:\n{self.log()}")

    def registered(self, url: str) -> bool:
        """Whether this worker's procrastinate row exists (its log says so once it is written)."""
        return "Starting worker on" in self.log() and bool(query(url, "SELECT 1 FROM procrastinate_workers"))

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def stop(self, timeout_s: float = 30) -> int | None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self.kill()
        return self.proc.returncode if self.proc else None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-6000:] if self.log_path.exists() else ""


class Cluster:
    """One or more API processes and workers on one database; each process has its own DATA_DIR, and all
    publish to one MEDIA_DIR (PUBLISH_PROVIDER=local on a shared volume)."""

    def __init__(self, root: Path, url: str, env: dict[str, str]):
        self.root, self.url = root, url
        self.env = {"DATABASE_URL": url, "MEDIA_DIR": str(root / "media"), "PUBLISH_PROVIDER": "local",
                    "MIN_FREE_DISK_MB": "0", **env}
        self.apis: list[ServiceProcess] = []
        self.workers: dict[str, WorkerProcess] = {}

    def api(self, **env: str) -> ServiceProcess:
        service = ServiceProcess(self.root / f"api-{len(self.apis)}" / "data", {**self.env, **env})
        service.data_dir.mkdir(parents=True, exist_ok=True)
        self.apis.append(service.start())
        return service

    def worker(self, name: str, **env: str) -> WorkerProcess:
        worker = WorkerProcess(name, self.root / f"worker-{name}" / "data", {**self.env, **env}).start()
        self.workers[name] = worker
        return worker

    def worker_by_pid(self, pid: int) -> str | None:
        return next((n for n, w in self.workers.items() if w.proc and w.proc.pid == pid), None)

    def job_status(self, operation_id: str) -> list[str]:
        rows = query(self.url, "SELECT status::text FROM procrastinate_jobs WHERE args->>'operation_id' = %s "
                     "ORDER BY id", operation_id)
        return [r[0] for r in rows]

    def logs(self) -> str:
        return "\n".join([f"--- api {a.port}\n{a.log()}" for a in self.apis]
                         + [f"--- worker {n}\n{w.log()}" for n, w in self.workers.items()])

    def close(self) -> None:
        for worker in self.workers.values():
            worker.stop(10)
        for api in self.apis:
            api.stop()


@pytest.fixture
def cluster(tmp_path: Path, database: str) -> Iterator[Any]:
    made: list[Cluster] = []

    def make(**env: str) -> Cluster:
        made.append(Cluster(tmp_path, database, env))
        return made[-1]

    yield make
    for c in made:
        c.close()
