"""/readyz: every configured backend checks itself, the background machinery reports its failures, and the
data folder must be writable with enough free space. The report names whatever is not ready."""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from pathlib import Path
from typing import Any

from app.services.chain import check_ready
from app.services.health import Health
from app.services.registry import Providers


async def readiness_report(providers: Providers, health: Health, data_dir: Path, min_free_mb: int) -> dict[str, Any]:
    chains = providers.chains()
    checks = [(chain.stage, backend.name, check_ready(backend.impl)) for chain in chains for backend in chain.backends]
    checks.append(("publish", "publish", check_ready(providers.publish)))
    results = await asyncio.gather(*(check for *_, check in checks))
    backends = [{"stage": stage, "backend": name, **result.model_dump()}
                for (stage, name, _), result in zip(checks, results, strict=True)]
    not_ready = [f"{b['stage']}:{b['backend']}" for b in backends if not b["ready"]]
    storage = await asyncio.to_thread(storage_report, data_dir, min_free_mb)
    if not storage["ready"]:
        not_ready.append("storage:data_dir")
    degraded = health.report()
    not_ready += [f"service:{name}" for name in degraded]
    return {"ready": not not_ready, "not_ready": not_ready, "degraded": degraded, "storage": storage,
            "backends": backends}


def storage_report(data_dir: Path, min_free_mb: int) -> dict[str, Any]:
    """Whether DATA_DIR takes a write now, and how much space is left."""
    probe = data_dir / f".readyz-{uuid.uuid4().hex[:8]}"
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        with probe.open("wb") as handle:
            handle.write(b"ok")
            os.fsync(handle.fileno())
        writable, detail = True, "writable"
    except OSError as exc:
        writable, detail = False, f"not writable: {exc.strerror or type(exc).__name__}"
    finally:
        try:
            probe.unlink(missing_ok=True)
        except OSError:
            pass
    free_mb = shutil.disk_usage(data_dir).free // (1024 * 1024) if data_dir.exists() else 0
    enough = free_mb >= min_free_mb
    if not enough:
        detail += f"; {free_mb} MB free, below MIN_FREE_DISK_MB={min_free_mb}"
    return {"ready": writable and enough, "writable": writable, "free_mb": free_mb, "detail": detail}
