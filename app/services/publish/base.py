"""Where published assets go. Stored state keeps object keys; URLs are made when read."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from app.services.backend import Backend


class ObjectStore(Backend, Protocol):
    async def put_file(self, key: str, path: Path, content_type: str) -> None:
        """Publish the file at `path` under object key `key`."""
        ...

    def url(self, key: str) -> str:
        """A URL a client can fetch `key` from (public, or presigned at call time)."""
        ...
