"""Run an ASGI app (a FastAPI double) with uvicorn on a free loopback port in a background thread."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import uvicorn

from tests.server import free_port


@contextmanager
def serve_in_thread(app, *, health_path: str = "/") -> Iterator[str]:
    """Serve `app`; yield its base URL (http://127.0.0.1:<port>); stop it on exit."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", ws="websockets"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    base_url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("double did not start")
        time.sleep(0.02)
    try:
        httpx.get(base_url + health_path, timeout=2)
    except httpx.HTTPError:
        pass
    try:
        yield base_url
    finally:
        server.should_exit = True
        thread.join(10)
