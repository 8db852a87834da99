"""Run an ASGI app (a FastAPI double) with uvicorn on a free loopback port in a background thread, and
what the vendor doubles share: serving one with `base_url` set, and recording and scripting its calls."""

from __future__ import annotations

import asyncio
import threading
import time
from collections import defaultdict, deque
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Protocol, TypeVar

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


class Double(Protocol):
    base_url: str

    def release(self) -> None:
        """Let the requests it holds (hanging endpoints, Hang steps) answer."""


DoubleT = TypeVar("DoubleT", bound=Double)


@contextmanager
def serve_double(double: DoubleT, app: Any, *, health_path: str = "/") -> Iterator[DoubleT]:
    """Serve `app` (the double's routes); yield `double` with `base_url` set. The requests it holds are
    released on exit, before the server stops (and again if it never started)."""
    try:
        with serve_in_thread(app, health_path=health_path) as base_url:
            double.base_url = base_url
            try:
                yield double
            finally:
                double.release()
    finally:
        double.release()


class RecordedCalls:
    """A double's call log and scripted failures, by endpoint name.

    `calls` lists the endpoints called, in order (`count(endpoint)` counts them); an endpoint in `hang`
    does not answer until the double is released (at the latest when it stops); `http_errors[endpoint]`
    holds HTTP statuses answered first, one per call.
    """

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.http_errors: dict[str, deque[int]] = defaultdict(deque)
        self.hang: set[str] = set()
        self.released = threading.Event()
        self.base_url = ""

    def count(self, endpoint: str) -> int:
        return self.calls.count(endpoint)

    def release(self) -> None:
        self.released.set()

    async def _record(self, endpoint: str) -> None:
        """Log a call of `endpoint`; hold it while the endpoint hangs."""
        self.calls.append(endpoint)
        if endpoint in self.hang:
            while not self.released.is_set():
                await asyncio.sleep(0.05)

    def _scripted_status(self, endpoint: str) -> int | None:
        """The next scripted HTTP status of `endpoint`, if any (taken off its queue)."""
        return self.http_errors[endpoint].popleft() if self.http_errors[endpoint] else None
