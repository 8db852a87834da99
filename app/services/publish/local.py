"""Local object store: published assets in DATA_DIR/media, served by the app at /media/<key>."""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
from pathlib import Path

from app.core.settings import Settings
from app.services.backend import Readiness
from app.services.publish.signing import MediaSigner


class LocalObjectStore:
    """Files under DATA_DIR/media, served at /media; with a signer (API_KEY set) every URL is signed."""

    def __init__(self, media_dir: Path, base_url: str, signer: MediaSigner | None = None):
        self.media_dir = media_dir
        self.base_url = base_url.rstrip("/")
        self.signer = signer

    async def put_file(self, key: str, path: Path, content_type: str) -> None:  # noqa: ARG002
        await asyncio.to_thread(self._publish, key, path)

    async def get_file(self, key: str, path: Path) -> bool:
        """Copy object `key` to `path` (a worker's local folder); False when there is no such object."""
        return await asyncio.to_thread(_copy_if_present, self.media_dir / key, path)

    def url(self, key: str) -> str:
        path = f"/media/{key}"
        return f"{self.base_url}{path}" + (f"?{self.signer.sign(path)}" if self.signer else "")

    async def ready(self) -> Readiness:
        """Ready when the media folder exists (or can be made) and is writable."""
        return await asyncio.to_thread(self._writable)

    async def aclose(self) -> None:
        """Nothing to close: files are written per call."""

    def _writable(self) -> Readiness:
        try:
            self.media_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            return Readiness(ready=False, detail=f"{self.media_dir}: {exc.strerror or exc}")
        if not os.access(self.media_dir, os.W_OK | os.X_OK):
            return Readiness(ready=False, detail=f"{self.media_dir} is not writable")
        return Readiness(ready=True, detail=f"{self.media_dir}")

    def _publish(self, key: str, path: Path) -> None:
        target = self.media_dir / key
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".publish.", dir=target.parent)
        os.close(fd)
        try:
            # A hard link costs no space; a copy covers folders on different file systems.
            os.unlink(tmp)
            try:
                os.link(path, tmp)
            except OSError:
                shutil.copyfile(path, tmp)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


def _copy_if_present(source: Path, target: Path) -> bool:
    if not source.is_file():
        return False
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".fetch-{os.getpid()}-{target.name}")
    try:
        shutil.copyfile(source, tmp)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return True


def media_dir(settings: Settings) -> Path:
    return settings.state.MEDIA_DIR or settings.state.DATA_DIR / "media"


def media_signer(settings: Settings) -> MediaSigner | None:
    """Media URLs are signed when the API is behind a key (else they are public, as the API is)."""
    key = settings.server.API_KEY
    return MediaSigner(key.get_secret_value(), settings.work.MEDIA_URL_TTL_S) if key else None


def create(settings: Settings) -> LocalObjectStore:
    return LocalObjectStore(media_dir(settings), settings.server.public_base_url, media_signer(settings))
