"""Run a stand-alone server script (a GPU model server) as a real process on a free port, driven over HTTP."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import httpx

from tests.server import free_port


class ScriptServer:
    """``argv`` started in ``cwd`` with ``env``; ``{port}`` in env values is replaced by the chosen port."""

    def __init__(self, argv: list[str], *, cwd: Path, env: dict[str, str], log_path: Path,
                 health_path: str = "/health"):
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.argv, self.cwd, self.health_path, self.log_path = argv, cwd, health_path, log_path
        self.env = {**os.environ, **{k: v.replace("{port}", str(self.port)) for k, v in env.items()}}
        self.proc: subprocess.Popen | None = None

    def start(self, timeout_s: float = 60) -> ScriptServer:
        log = open(self.log_path, "ab")  # noqa: SIM115 - the child process owns it
        self.proc = subprocess.Popen(self.argv, cwd=self.cwd, env=self.env, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited at start-up:\n{self.log()}")
            try:
                if httpx.get(self.base_url + self.health_path, timeout=1).status_code == 200:
                    return self
            except httpx.TransportError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"server did not start:\n{self.log()}")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-6000:] if self.log_path.exists() else ""

    def client(self, timeout_s: float = 60) -> httpx.Client:
        return httpx.Client(base_url=self.base_url, timeout=timeout_s)
