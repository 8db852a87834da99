"""/readyz: every configured backend checks itself; the report names those that are not ready."""

from __future__ import annotations

import asyncio
from typing import Any

from app.services.chain import check_ready
from app.services.registry import Providers


async def readiness_report(providers: Providers) -> dict[str, Any]:
    chains = providers.chains()
    checks = [(chain.stage, backend.name, check_ready(backend.impl)) for chain in chains for backend in chain.backends]
    checks.append(("publish", "publish", check_ready(providers.publish)))
    results = await asyncio.gather(*(check for *_, check in checks))
    backends = [{"stage": stage, "backend": name, **result.model_dump()}
                for (stage, name, _), result in zip(checks, results, strict=True)]
    not_ready = [f"{b['stage']}:{b['backend']}" for b in backends if not b["ready"]]
    return {"ready": not not_ready, "not_ready": not_ready, "backends": backends}
