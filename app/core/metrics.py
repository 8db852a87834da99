"""The service's Prometheus metrics: defined once here, moved by the layers that do the work.

This module sits in the lowest layer so that the FFmpeg runner, the backends, the chains, the
callback outbox and the pipeline can all count into it; the API layer only exposes it (`/metrics`).
Every name starts with `story2video_`. Labels are bounded sets (stage, backend, operation type,
status, route template), never ids.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from contextlib import contextmanager

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram

#: Buckets for things that take from milliseconds (a cached step) to many minutes (a GPU clip).
SLOW_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800)
#: Buckets for HTTP request latency.
HTTP_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
#: Buckets for FFmpeg's speed: seconds of media encoded per second of wall time.
SPEED_BUCKETS = (0.1, 0.25, 0.5, 1, 2, 4, 8, 16, 32, 64)

registry: CollectorRegistry = REGISTRY

HTTP_REQUESTS = Counter("story2video_http_requests", "HTTP requests answered",
                        ["method", "route", "status"], registry=registry)
HTTP_LATENCY = Histogram("story2video_http_request_duration_seconds", "Time to answer an HTTP request",
                         ["method", "route"], buckets=HTTP_BUCKETS, registry=registry)

OPERATIONS = Counter("story2video_operations", "Operations that ended, by type and final status",
                     ["type", "status"], registry=registry)
OPERATIONS_ACTIVE = Gauge("story2video_operations_active", "Operations accepted and not ended, by type and status "
                          "(queued or running)", ["type", "status"], registry=registry)
QUEUE_DEPTH = Gauge("story2video_queue_depth", "Operations accepted and waiting for their turn", registry=registry)
OPERATION_DURATION = Histogram("story2video_operation_duration_seconds",
                               "Time from acceptance to the end of an operation", ["type", "status"],
                               buckets=SLOW_BUCKETS, registry=registry)
OPERATION_ERRORS = Counter("story2video_operation_errors", "Operations that failed, by error code and stage",
                           ["type", "code", "stage"], registry=registry)

STAGE_DURATION = Histogram("story2video_stage_duration_seconds", "Time one pipeline stage of an operation took",
                           ["type", "stage"], buckets=SLOW_BUCKETS, registry=registry)

BACKEND_DURATION = Histogram("story2video_backend_call_duration_seconds",
                             "Time of one call to a stage backend (its own retries included)",
                             ["stage", "backend", "outcome"], buckets=SLOW_BUCKETS, registry=registry)
BACKEND_ERRORS = Counter("story2video_backend_errors", "Backend calls that failed after their retries",
                         ["stage", "backend"], registry=registry)
BACKEND_FALLBACKS = Counter("story2video_backend_fallbacks", "Calls a fallback backend took over from a failed one",
                            ["stage", "backend"], registry=registry)
BACKEND_RETRIES = Counter("story2video_backend_retries", "Retries of transient backend failures",
                          ["backend"], registry=registry)

CALLBACK_DELIVERIES = Counter("story2video_callback_deliveries", "Callback delivery attempts by result "
                              "(delivered, failed, dead_lettered)", ["result"], registry=registry)
CALLBACK_BACKLOG = Gauge("story2video_callback_backlog", "Callback events waiting in the outbox", registry=registry)
CALLBACK_DEAD_LETTERS = Gauge("story2video_callback_dead_letters", "Callback events parked in outbox-dead",
                              registry=registry)

FFMPEG_RUNS = Counter("story2video_ffmpeg_runs", "FFmpeg encodes that reported progress, by result",
                      ["result"], registry=registry)
FFMPEG_SPEED = Histogram("story2video_ffmpeg_speed_ratio", "Seconds of media encoded per second of wall time",
                         buckets=SPEED_BUCKETS, registry=registry)
FFMPEG_MEDIA_SECONDS = Counter("story2video_ffmpeg_media_seconds", "Seconds of media FFmpeg encoded",
                               registry=registry)
FFMPEG_WALL_SECONDS = Counter("story2video_ffmpeg_wall_seconds", "Wall time FFmpeg spent encoding",
                              registry=registry)

_active: dict[str, tuple[str, str]] = {}


def operation_queued(operation_id: str, op_type: str) -> None:
    """An operation was handed to the runner (accepted now or resumed at start-up)."""
    _move(operation_id, op_type, "queued")


def operation_started(operation_id: str, op_type: str) -> None:
    _move(operation_id, op_type, "running")


def operation_ended(operation_id: str, op_type: str, status: str, *, seconds: float | None,
                    error_code: str | None = None, error_stage: str | None = None) -> None:
    """An operation reached a final status (succeeded, failed, cancelled)."""
    _move(operation_id, op_type, None)
    OPERATIONS.labels(op_type, status).inc()
    if seconds is not None:
        OPERATION_DURATION.labels(op_type, status).observe(max(seconds, 0.0))
    if error_code:
        OPERATION_ERRORS.labels(op_type, error_code, error_stage or "").inc()


def operation_left(operation_id: str) -> None:
    """An operation stopped without ending (shutdown): it is no longer active in this process."""
    _move(operation_id, "", None)


def _move(operation_id: str, op_type: str, status: str | None) -> None:
    before = _active.pop(operation_id, None)
    if before is not None:
        OPERATIONS_ACTIVE.labels(*before).dec()
        if before[1] == "queued":
            QUEUE_DEPTH.dec()
    if status is not None:
        entry = (op_type or (before[0] if before else ""), status)
        _active[operation_id] = entry
        OPERATIONS_ACTIVE.labels(*entry).inc()
        if status == "queued":
            QUEUE_DEPTH.inc()


@contextmanager
def backend_call(stage: str, backend: str) -> Iterator[None]:
    """Time one call to a stage's backend; a failure counts as an error of that backend."""
    start = time.perf_counter()
    outcome = "error"
    try:
        yield
    except asyncio.CancelledError:
        outcome = "cancelled"
        raise
    else:
        outcome = "ok"
    finally:
        BACKEND_DURATION.labels(stage, backend, outcome).observe(time.perf_counter() - start)
        if outcome == "error":
            BACKEND_ERRORS.labels(stage, backend).inc()


def ffmpeg_encoded(media_s: float, wall_s: float, *, ok: bool) -> None:
    """One FFmpeg encode that reported progress: `media_s` of output in `wall_s` of wall time."""
    FFMPEG_RUNS.labels("ok" if ok else "error").inc()
    if media_s > 0 and wall_s > 0:
        FFMPEG_MEDIA_SECONDS.inc(media_s)
        FFMPEG_WALL_SECONDS.inc(wall_s)
        FFMPEG_SPEED.observe(media_s / wall_s)
