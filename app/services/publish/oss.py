"""Aliyun OSS object store via oss2: uploads with content types, resumable above a threshold, URLs made at read
time (presigned GET, or a public/CDN base).

Requests are signed with V4 (`OSS4-HMAC-SHA256`, `oss2.AuthV4` + the bucket's `region=`): Alibaba retires V1
signatures — unavailable to new accounts from 2025-03-01 and to new buckets from 2025-09-01 — so V1 (`oss2.Auth`)
is used only when OSS_SIGNATURE_VERSION=v1 says so. V4 needs the region id (OSS_REGION, or read from a
`oss-<region>[-internal].aliyuncs.com` endpoint) and caps presigned URLs at 7 days (oss2/auth.py ProviderAuthV4;
https://www.alibabacloud.com/help/en/oss/developer-reference/recommend-to-use-signature-version-4).

oss2 is synchronous, so every call runs in a worker thread under the backend's CallPolicy. Keys are the
pipeline's (`users/<u>/stories/<s>/...`); URLs are never stored, only keys.
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from urllib.parse import quote

import oss2
import requests

from app.core.errors import BackendError, TerminalBackendError, TransientBackendError
from app.core.settings import Settings
from app.core.settings.vendors import OssSettings
from app.services.backend import PolicedCaller, Readiness, http_status_error

NAME = "oss"
#: The longest a V4-presigned URL may live (x-oss-expires ≤ 604800).
V4_MAX_URL_EXPIRES_S = 7 * 24 * 3600
#: A public OSS endpoint host: oss-<region>.aliyuncs.com or oss-<region>-internal.aliyuncs.com.
ENDPOINT_REGION = re.compile(r"oss-([a-z0-9-]+?)(?:-internal)?\.aliyuncs\.com")


def check_key(key: str) -> str:
    """An object key as OSS takes it: non-empty, no leading slash, no `..` segment, at most 1023 bytes."""
    if not key or key.startswith("/") or ".." in key.split("/") or len(key.encode()) > 1023:
        raise TerminalBackendError(NAME, "invalid_key", f"invalid object key {key[:100]!r}")
    return key


def public_url(base: str, key: str) -> str:
    """`key` under a public/CDN base URL, path-encoded."""
    return f"{base.rstrip('/')}/{quote(key, safe='/')}"


def oss_error(exc: oss2.exceptions.OssError) -> BackendError:
    """Map an oss2 error to ours: the HTTP status decides, with OSS's own code and message."""
    if isinstance(exc, oss2.exceptions.RequestError):
        timed_out = isinstance(getattr(exc, "exception", None), requests.Timeout)
        code = "timeout" if timed_out else "request_failed"
        return TransientBackendError(NAME, code, f"OSS request failed: {type(exc.exception).__name__}")
    if isinstance(exc, oss2.exceptions.InconsistentError):
        return TransientBackendError(NAME, "inconsistent", "OSS returned a CRC different from the uploaded data")
    if exc.status <= 0:
        return TerminalBackendError(NAME, "client_error", str(exc.body)[:300])
    message = exc.message or exc.code or f"HTTP {exc.status}"
    if exc.request_id:
        message += f" (request {exc.request_id})"
    return http_status_error(NAME, exc.status, message, exc.code or None)


class OssObjectStore:
    """ObjectStore on an Aliyun OSS bucket."""

    def __init__(self, cfg: OssSettings, checkpoint_dir: Path):
        self.cfg = cfg
        self.checkpoint_dir = cfg.CHECKPOINT_DIR or checkpoint_dir
        self._bucket: oss2.Bucket | None = None
        self._call = PolicedCaller(NAME, cfg.policy())

    async def put_file(self, key: str, path: Path, content_type: str) -> None:
        """Upload `path` as `key` with `content_type`; resumable (multipart) above the threshold.

        Raises:
            TerminalBackendError: 4xx from OSS (e.g. 403 SignatureDoesNotMatch), bad key, missing settings.
            TransientBackendError: 5xx, timeouts, dropped connections (after the retries).
        """
        check_key(key)
        await self._call(lambda: asyncio.to_thread(self._put, key, path, content_type))

    async def get_file(self, key: str, path: Path) -> bool:
        """Download object `key` to `path` (a worker's local folder); False when the bucket has no such key."""
        check_key(key)
        return await self._call(lambda: asyncio.to_thread(self._get, key, path))

    def url(self, key: str) -> str:
        """The public/CDN URL of `key`, or a GET URL presigned now for OSS_URL_EXPIRES_S seconds."""
        if self.cfg.PUBLIC_BASE_URL:
            return public_url(self.cfg.PUBLIC_BASE_URL, key)
        return str(self.bucket().sign_url("GET", key, self.cfg.URL_EXPIRES_S, slash_safe=True))

    async def ready(self) -> Readiness:
        """Ready when the credentials are set and GetBucketInfo succeeds with them."""
        missing = self.cfg.missing()
        if missing:
            return Readiness(ready=False, detail=f"not set: {', '.join(missing)}")
        try:
            info = await asyncio.wait_for(asyncio.to_thread(self.bucket().get_bucket_info),
                                          self.cfg.CONNECT_TIMEOUT_S + 1)
        except oss2.exceptions.OssError as exc:
            error = oss_error(exc)
            return Readiness(ready=False, detail=f"{error.code}: {error.message}")
        except BackendError as exc:
            return Readiness(ready=False, detail=f"{exc.code}: {exc.message}")
        except TimeoutError:
            return Readiness(ready=False, detail=f"no answer from {self.cfg.ENDPOINT}")
        return Readiness(ready=True, detail=f"bucket {info.name} in {info.location}")

    async def aclose(self) -> None:
        """Nothing to close: oss2 keeps its own pooled `requests` session for the bucket handle."""

    def bucket(self) -> oss2.Bucket:
        """The oss2 bucket handle (built on first use)."""
        if self._bucket is None:
            missing = self.cfg.missing()
            key_id, secret = self.cfg.ACCESS_KEY_ID, self.cfg.ACCESS_KEY_SECRET
            if missing or key_id is None or secret is None:
                raise TerminalBackendError(NAME, "not_configured", f"not set: {', '.join(missing)}")
            v4 = self.cfg.SIGNATURE_VERSION == "v4"
            auth_class = oss2.AuthV4 if v4 else oss2.Auth
            auth = auth_class(key_id.get_secret_value(), secret.get_secret_value())
            try:
                self._bucket = oss2.Bucket(auth, self.cfg.ENDPOINT, self.cfg.BUCKET, is_cname=self.cfg.IS_CNAME,
                                           connect_timeout=self.cfg.CONNECT_TIMEOUT_S, app_name="story2video",
                                           region=self.cfg.region() if v4 else None)
            except oss2.exceptions.ClientError as exc:  # an invalid bucket name or endpoint
                message = str(exc.body).removeprefix("ClientError: ")
                raise TerminalBackendError(NAME, "not_configured", message) from None
        return self._bucket

    def _put(self, key: str, path: Path, content_type: str) -> None:
        headers = {"Content-Type": content_type}
        try:
            if path.stat().st_size >= self.cfg.MULTIPART_THRESHOLD_BYTES:
                store = oss2.ResumableStore(root=str(self.checkpoint_dir), dir="uploads")
                oss2.resumable_upload(self.bucket(), key, str(path), store=store, headers=headers,
                                      multipart_threshold=self.cfg.MULTIPART_THRESHOLD_BYTES,
                                      part_size=self.cfg.PART_SIZE_BYTES, num_threads=self.cfg.UPLOAD_THREADS)
            else:
                self.bucket().put_object_from_file(key, str(path), headers=headers)
        except oss2.exceptions.OssError as exc:
            raise oss_error(exc) from None


    def _get(self, key: str, path: Path) -> bool:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".fetch-{path.name}")
        try:
            self.bucket().get_object_to_file(key, str(tmp))
            tmp.replace(path)
        except oss2.exceptions.NoSuchKey:
            return False
        except oss2.exceptions.OssError as exc:
            raise oss_error(exc) from None
        finally:
            tmp.unlink(missing_ok=True)
        return True


def create(settings: Settings) -> OssObjectStore:
    """The OSS object store, from OSS_* settings; checkpoints under DATA_DIR unless OSS_CHECKPOINT_DIR is set."""
    return OssObjectStore(settings.oss, settings.state.DATA_DIR / "oss-checkpoints")
