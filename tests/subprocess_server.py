"""Run a stand-alone server script (a GPU model server) as a real process on a free port, driven over HTTP."""

from __future__ import annotations

import os
from pathlib import Path

import httpx

from tests.server import ServerProcess


class ScriptServer(ServerProcess):
    """``argv`` started in ``cwd`` with ``env``; ``{port}`` in env values is replaced by the chosen port."""

    def __init__(self, argv: list[str], *, cwd: Path, env: dict[str, str], log_path: Path,
                 health_path: str = "/health"):
        super().__init__()
        self.argv, self.cwd, self.health_path, self.log_path = argv, cwd, health_path, log_path
        self.env = {**os.environ, **{k: v.replace("{port}", str(self.port)) for k, v in env.items()}}

    def start(self, timeout_s: float = 60) -> ScriptServer:
        if self._launch(self.argv, cwd=self.cwd, env=self.env, health_path=self.health_path, timeout_s=timeout_s):
            return self
        self.stop()
        raise RuntimeError(f"server did not start:\n{self.log()}")

    def client(self, timeout_s: float = 60) -> httpx.Client:
        return httpx.Client(base_url=self.base_url, timeout=timeout_s)
