"""httpx transport failures as our transient errors, so a backend's final error names what happened."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import httpx

from app.core.errors import TransientBackendError


@contextmanager
def transport_errors(backend: str) -> Iterator[None]:
    """Re-raise httpx timeouts as `timeout` and other transport failures as `connection_failed` (both transient)."""
    try:
        yield
    except httpx.TimeoutException as exc:
        raise TransientBackendError(backend, "timeout", f"no answer in time ({type(exc).__name__})") from exc
    except httpx.TransportError as exc:
        raise TransientBackendError(backend, "connection_failed", f"connection failed ({type(exc).__name__})") from exc
