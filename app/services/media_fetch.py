"""Download a vendor's result URL at once, with limits: http(s) only, bounded size, written atomically.

Vendors hand back short-lived URLs (Pixverse, DashScope: 24 h or less), so a backend downloads the
result as soon as the task succeeds. Never pass a user-provided URL here, and never the vendor's own
API client: its auth headers must not travel to a CDN.
"""

from __future__ import annotations

import ipaddress
import os
import uuid
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import httpx

from app.core.errors import TerminalBackendError, TransientBackendError
from app.services.backend import http_status_error

#: Default cap on a downloaded result (a few seconds of 1080p H.264 are far below it).
DEFAULT_MAX_BYTES = 200 * 1024 * 1024


#: Redirects followed per download; each hop is checked like the first URL.
MAX_REDIRECTS = 5


def check_media_url(url: str) -> str:
    """Return `url` when it is an absolute http(s) URL with a host that is not link-local (cloud metadata);
    raise ValueError otherwise."""
    parts = urlsplit(url.strip())
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise ValueError(f"not an http(s) URL: {parts.scheme or 'no scheme'}://{parts.hostname or ''}")
    try:
        address = ipaddress.ip_address(parts.hostname)
    except ValueError:
        address = None
    if address is not None and (address.is_link_local or address.is_multicast or address.is_unspecified):
        raise ValueError(f"refusing to fetch from {parts.hostname}")
    return url.strip()


def next_hop(current: str, location: str) -> str:
    """The URL a redirect points at, checked like the first one; an https → http downgrade is refused."""
    target = check_media_url(urljoin(current, location))
    if urlsplit(current).scheme == "https" and urlsplit(target).scheme == "http":
        raise ValueError("refusing a redirect from https to http")
    return target


def media_client(timeout_s: float) -> httpx.AsyncClient:
    """A client for result downloads: no vendor auth headers, `timeout_s` per operation; `download` follows
    redirects itself, checking every hop.

    A backend keeps one for its life (closed in its `aclose`) and passes it to `download`."""
    return httpx.AsyncClient(timeout=timeout_s, follow_redirects=False)


async def download(
    url: str,
    out_path: Path,
    *,
    backend: str,
    max_bytes: int = DEFAULT_MAX_BYTES,
    timeout_s: float = 120.0,
    client: httpx.AsyncClient | None = None,
) -> int:
    """Stream `url` into `out_path` (via a temp file beside it); return the byte count.

    Args:
        url: the vendor's result URL (http or https only).
        out_path: where the file ends up; replaced atomically when complete.
        backend: the backend name used in raised errors.
        max_bytes: abort (terminal error) once the body passes this size.
        timeout_s: httpx timeout per network operation when no `client` is given.
        client: the backend's client without vendor auth headers (`media_client`); by default a fresh one is
            made for this download and closed after it.

    Raises:
        TerminalBackendError: a bad URL (`bad_media_url`), a body over the limit (`media_too_large`),
            an empty body (`empty_media`) or a 4xx answer.
        TransientBackendError: a 408/429/5xx answer or a transport failure (`download_failed`).
    """
    try:
        url = check_media_url(url)
    except ValueError as exc:
        raise TerminalBackendError(backend, "bad_media_url", str(exc)) from None
    out_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_path.with_name(f".{out_path.name}.{uuid.uuid4().hex}.part")
    owned = client is None
    client = client or media_client(timeout_s)
    try:
        size = await _stream_to(client, url, tmp, backend=backend, max_bytes=max_bytes)
        os.replace(tmp, out_path)
        return size
    except httpx.HTTPError as exc:
        message = f"result download failed: {type(exc).__name__}"
        raise TransientBackendError(backend, "download_failed", message) from exc
    finally:
        tmp.unlink(missing_ok=True)
        if owned:
            await client.aclose()


async def _stream_to(client: httpx.AsyncClient, url: str, tmp: Path, *, backend: str, max_bytes: int) -> int:
    for _ in range(MAX_REDIRECTS + 1):
        async with client.stream("GET", url, follow_redirects=False) as response:
            if response.is_redirect and "location" in response.headers:
                try:
                    url = next_hop(url, response.headers["location"])
                except ValueError as exc:
                    raise TerminalBackendError(backend, "bad_media_url", f"redirect refused: {exc}") from None
                continue
            return await _save(response, tmp, backend=backend, max_bytes=max_bytes)
    raise TerminalBackendError(backend, "too_many_redirects", f"more than {MAX_REDIRECTS} redirects")


async def _save(response: httpx.Response, tmp: Path, *, backend: str, max_bytes: int) -> int:
    if response.status_code >= 400:
        raise http_status_error(backend, response.status_code, f"result download answered {response.status_code}")
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise _too_large(backend, max_bytes)
    size = await write_capped(response, tmp, max_bytes, lambda: _too_large(backend, max_bytes))
    if size == 0:
        raise TerminalBackendError(backend, "empty_media", "the result download was empty")
    return size


async def write_capped(response: httpx.Response, dest: Path, max_bytes: int,
                       too_large: Callable[[], Exception]) -> int:
    """Write a streamed response's body to `dest`; raise `too_large()` once it passes `max_bytes`; return its size."""
    size = 0
    with dest.open("wb") as out:
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            if size > max_bytes:
                raise too_large()
            out.write(chunk)
    return size


def _too_large(backend: str, max_bytes: int) -> TerminalBackendError:
    return TerminalBackendError(backend, "media_too_large", f"the result is larger than {max_bytes} bytes")
