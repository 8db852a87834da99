"""What the clip backends on a vendor's task API share (Pixverse, our HunyuanVideo-1.5 server).

One clip is one vendor task: submit, poll, download the result at once (its URL may expire), then fit
it to the shot. The whole task runs under one policy (CONCURRENCY tasks at once, bounded by the
backend's task timeout, not retried as a whole); each HTTP request of it under another
(REQUEST_TIMEOUT_S, transient failures retried RETRIES times with backoff).

A backend keeps two HTTP clients for its life, both closed by `aclose()`: its API client (`_client`, made
by the subclass's `_new_client`, with the vendor's base URL and auth headers) and a plain one for result
downloads, so the vendor's auth headers never travel to a CDN.
"""

from __future__ import annotations

import uuid
from abc import ABC, abstractmethod
from pathlib import Path
from typing import ClassVar, Generic, TypeVar

import httpx

from app.core.settings.base import CallPolicy
from app.core.settings.vendors import VendorTaskSettings
from app.services.backend import PolicedCaller, Readiness
from app.services.clip.base import ClipRequest
from app.services.clip.fit import generate_and_fit
from app.services.media_fetch import download, media_client

SettingsT = TypeVar("SettingsT", bound=VendorTaskSettings)


class VendorTaskAnimator(ABC, Generic[SettingsT]):
    """A clip backend whose `_produce` runs one vendor task and writes the vendor's clip to a file."""

    #: the backend's name, in errors and in the hidden name of the vendor's clip
    backend: ClassVar[str]

    def __init__(self, cfg: SettingsT, *, crf: int = 23, preset: str = "veryfast", ffmpeg_timeout_s: float = 600.0):
        self.cfg = cfg
        self.crf, self.preset, self.ffmpeg_timeout_s = crf, preset, ffmpeg_timeout_s
        self._task = PolicedCaller(self.backend, CallPolicy(concurrency=cfg.CONCURRENCY,
                                                            timeout_s=self.task_timeout_s(), retries=0))
        self._request = PolicedCaller(self.backend, cfg.call_policy(timeout_s=cfg.REQUEST_TIMEOUT_S, concurrency=1000))
        self._client = self._new_client()
        self._media = media_client(cfg.REQUEST_TIMEOUT_S)

    @abstractmethod
    def _new_client(self) -> httpx.AsyncClient:
        """The vendor's API client (base URL, auth headers, timeouts), made once and kept as `_client`."""

    @abstractmethod
    def task_timeout_s(self) -> float:
        """The limit of the whole task (upload or submit → download), after which the shot falls back."""

    @abstractmethod
    async def ready(self) -> Readiness:
        """Whether the vendor answers and accepts the configuration."""

    @abstractmethod
    async def _produce(self, request: ClipRequest, raw: Path) -> None:
        """Run the vendor's task for `request`; write its clip to `raw` (with `_download`)."""

    async def animate(self, request: ClipRequest, out_path: Path) -> None:
        """Write an H.264 MP4 (no audio) of request.duration seconds to `out_path` (errors: see the subclass)."""
        raw = out_path.with_name(f".{out_path.stem}.{self.backend}-{uuid.uuid4().hex[:8]}.mp4")
        await generate_and_fit(lambda: self._generate(request, raw), raw, out_path, request, backend=self.backend,
                               crf=self.crf, preset=self.preset, timeout_s=self.ffmpeg_timeout_s)

    async def _generate(self, request: ClipRequest, raw: Path) -> None:
        """Run the vendor's task under the task policy (a slot of CONCURRENCY, the task timeout); the clip is
        fitted to the shot afterwards, outside the slot."""
        await self._task(lambda: self._produce(request, raw))

    async def _download(self, url: str, raw: Path) -> None:
        """Fetch the task's result to `raw` at once, as one request of the task."""
        await self._request(lambda: download(url, raw, backend=self.backend, max_bytes=self.cfg.MAX_DOWNLOAD_BYTES,
                                             timeout_s=self.cfg.REQUEST_TIMEOUT_S, client=self._media))

    async def aclose(self) -> None:
        """Close the API client and the download client."""
        await self._client.aclose()
        await self._media.aclose()
