"""Getting the input video: a bounded upload, or a bounded download from an allow-listed http(s) host.

Never a local path, a ``file://`` URL, or a host outside ``ENHANCE_ALLOWED_HOSTS`` (redirects are re-checked).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal
from urllib.parse import urljoin, urlsplit

import httpx
from fastapi import Request
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .contract import ApiError, invalid_request

MAX_REDIRECTS = 3
CHUNK = 1024 * 1024


class EnhanceOptions(BaseModel):
    """How much to enhance: super-resolution ``scale`` and frame-rate ``multi``, each 1, 2 or 4."""

    scale: Literal[1, 2, 4] = 2
    multi: Literal[1, 2, 4] = 2


class UrlSubmission(EnhanceOptions):
    """JSON body: fetch the video from ``url`` (allow-listed host). Upstream's extra ids are accepted and ignored;
    ``path`` (a local file) is refused."""

    model_config = ConfigDict(extra="allow")

    url: str = Field(min_length=1, max_length=2048)


def options_from_query(query: dict[str, str]) -> EnhanceOptions:
    """``?scale=2&multi=4`` -> ``EnhanceOptions``; 422 ``invalid_request`` on anything else."""
    picked = {k: int(v) if v.isdigit() else v for k, v in query.items() if k in ("scale", "multi")}
    try:
        return EnhanceOptions.model_validate(picked)
    except ValidationError as exc:
        raise invalid_request(exc.errors()) from None


async def save_upload(request: Request, dest: Path, *, max_bytes: int) -> int:
    """Stream the request body to ``dest``, refusing (413) past ``max_bytes``; return the size."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise too_large(max_bytes)
    size = 0
    with dest.open("wb") as out:
        async for chunk in request.stream():
            size += len(chunk)
            if size > max_bytes:
                raise too_large(max_bytes)
            out.write(chunk)
    if size == 0:
        raise ApiError(422, "empty_upload", "the request body is empty; send the MP4 bytes")
    return size


async def read_json(request: Request, *, max_bytes: int) -> UrlSubmission:
    """The JSON body as a ``UrlSubmission``; 413 past ``max_bytes``, 422 when malformed or asking for a path."""
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > max_bytes:
            raise too_large(max_bytes)
    try:
        data = json.loads(body or b"null")
    except ValueError:
        raise ApiError(422, "invalid_request", "the body is not valid JSON") from None
    if isinstance(data, dict) and "path" in data:
        raise ApiError(422, "local_path_not_allowed", "local paths are not accepted: upload the video, or give "
                       "an http(s) URL on an allow-listed host")
    try:
        return UrlSubmission.model_validate(data)
    except ValidationError as exc:
        raise invalid_request(exc.errors()) from None


def too_large(max_bytes: int) -> ApiError:
    return ApiError(413, "payload_too_large", f"the video is larger than the {max_bytes} byte limit",
                    {"max_bytes": max_bytes})


def check_url(url: str, allowed_hosts: list[str]) -> None:
    """Refuse (403 ``url_not_allowed``) anything but http(s) on an allow-listed host."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ApiError(403, "url_not_allowed", "only http(s) URLs are accepted (no local paths, no file://)")
    if parts.username or parts.password:
        raise ApiError(403, "url_not_allowed", "URLs with credentials are not accepted")
    if not host_allowed(parts.hostname, allowed_hosts):
        detail = "no hosts are allow-listed (ENHANCE_ALLOWED_HOSTS)" if not allowed_hosts else "host not allow-listed"
        raise ApiError(403, "url_not_allowed", f"{parts.hostname} is not allowed: {detail}")


def host_allowed(host: str, allowed_hosts: list[str]) -> bool:
    """Exact names, or ``*.example.com`` for any subdomain of example.com."""
    host = host.lower().rstrip(".")
    return any(host == entry or (entry.startswith("*.") and host.endswith(entry[1:])) for entry in allowed_hosts)


async def download(url: str, dest: Path, *, allowed_hosts: list[str], max_bytes: int, timeout_s: float) -> int:
    """Fetch ``url`` into ``dest`` (each redirect re-checked against the allow-list); return the size."""
    async with httpx.AsyncClient(follow_redirects=False, timeout=httpx.Timeout(timeout_s, connect=10)) as client:
        for _ in range(MAX_REDIRECTS + 1):
            check_url(url, allowed_hosts)
            try:
                async with client.stream("GET", url) as response:
                    if response.is_redirect and "location" in response.headers:
                        url = urljoin(url, response.headers["location"])
                        continue
                    if response.status_code != 200:
                        raise ApiError(422, "fetch_failed", f"fetching the video answered HTTP {response.status_code}")
                    return await _save_stream(response, dest, max_bytes)
            except httpx.HTTPError:
                raise ApiError(422, "fetch_failed", "the video could not be fetched from its URL") from None
    raise ApiError(422, "fetch_failed", f"more than {MAX_REDIRECTS} redirects")


async def _save_stream(response: httpx.Response, dest: Path, max_bytes: int) -> int:
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise too_large(max_bytes)
    size = 0
    with dest.open("wb") as out:
        async for chunk in response.aiter_bytes(CHUNK):
            size += len(chunk)
            if size > max_bytes:
                raise too_large(max_bytes)
            out.write(chunk)
    return size
