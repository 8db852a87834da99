"""A real service process for end-to-end tests: uvicorn on a free port, driven over HTTP."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent
TERMINAL = ("succeeded", "failed", "cancelled")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ServerProcess:
    """A server run as a child process on `port` (chosen free), its output appended to `log_path`."""

    log_path: Path

    def __init__(self) -> None:
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None

    def _launch(self, argv: list[str], *, cwd: Path, env: dict[str, str], health_path: str, timeout_s: float) -> bool:
        """Start `argv`; True once GET `health_path` answers 200, False if it does not within `timeout_s`.
        Raises RuntimeError when the process exits first."""
        with open(self.log_path, "ab") as log:  # the child keeps its own copy of the descriptor
            self.proc = subprocess.Popen(argv, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited at start-up:\n{self.log()}")
            try:
                if httpx.get(self.base_url + health_path, timeout=1).status_code == 200:
                    return True
            except httpx.TransportError:
                time.sleep(0.1)
        return False

    def kill(self) -> None:
        """SIGKILL: no shutdown hooks run, as in a crash."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.kill()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-6000:] if self.log_path.exists() else ""


class ServiceProcess(ServerProcess):
    def __init__(self, data_dir: Path, env: dict[str, str] | None = None):
        super().__init__()
        self.data_dir = data_dir
        self.env = {**os.environ, "DATA_DIR": str(data_dir), "PORT": str(self.port), "HOST": "127.0.0.1",
                    "PUBLIC_BASE_URL": self.base_url, "LOG_LEVEL": "INFO",
                    # planner and cards in threads: a process each per test server costs seconds of CPU
                    # (tests/test_event_loop.py runs them in processes, the production default)
                    "EMBEDDED_PROCESSES": "0", **(env or {})}
        self.log_path = data_dir.parent / f"server-{self.port}.log"

    def start(self) -> ServiceProcess:
        if self._launch([sys.executable, "-m", "app.main"], cwd=REPO, env=self.env, health_path="/healthz",
                        timeout_s=30):
            return self
        raise RuntimeError(f"server did not start:\n{self.log()}")

    def client(self, **kwargs) -> httpx.Client:
        return httpx.Client(base_url=self.base_url, **{"timeout": 30, **kwargs})


def wait_for(client: httpx.Client, operation_id: str, *, timeout_s: float = 240) -> dict:
    """Poll an operation until it is terminal; return its last view."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        op = client.get(f"/api/v1/operations/{operation_id}").json()
        if op["status"] in TERMINAL:
            return op
        time.sleep(0.25)
    raise TimeoutError(f"operation {operation_id} did not finish: {op}")
