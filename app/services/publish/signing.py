"""Expiring signatures for /media URLs: with API_KEY set, published files are not public by path.

A URL carries `exp` (epoch seconds) and `sig` = HMAC-SHA256(key, "<path>\\n<exp>"), the key derived from
API_KEY; /media serves a file only for a valid, unexpired signature of its own path.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from urllib.parse import quote


class MediaSigner:
    def __init__(self, api_key: str, ttl_s: int):
        self._key = hmac.new(api_key.encode(), b"story2video media urls", hashlib.sha256).digest()
        self.ttl_s = ttl_s

    def sign(self, path: str, *, now: float | None = None) -> str:
        """The query string (`exp=…&sig=…`) that lets `path` (as served, e.g. /media/users/…) be fetched."""
        expires = int((now if now is not None else time.time()) + self.ttl_s)
        return f"exp={expires}&sig={self._mac(path, expires)}"

    def valid(self, path: str, expires: str | None, signature: str | None, *, now: float | None = None) -> bool:
        if not expires or not signature or not expires.isdigit():
            return False
        if int(expires) < (now if now is not None else time.time()):
            return False
        return hmac.compare_digest(signature, self._mac(path, int(expires)))

    def _mac(self, path: str, expires: int) -> str:
        return hmac.new(self._key, f"{quote(path)}\n{expires}".encode(), hashlib.sha256).hexdigest()
