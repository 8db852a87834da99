"""Callback signatures: HMAC-SHA256 over `timestamp + "." + body`, hex-encoded."""

from __future__ import annotations

import hashlib
import hmac

EVENT_ID_HEADER = "X-Story2Video-Event-Id"
TIMESTAMP_HEADER = "X-Story2Video-Timestamp"
SIGNATURE_HEADER = "X-Story2Video-Signature"
SIGNATURE_PREFIX = "sha256="


def sign(secret: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return SIGNATURE_PREFIX + mac.hexdigest()


def verify(secret: str, timestamp: str, body: bytes, signature: str) -> bool:
    """What a receiver does: recompute and compare in constant time."""
    return hmac.compare_digest(sign(secret, timestamp, body), signature)
