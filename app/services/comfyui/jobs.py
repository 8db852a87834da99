"""Running one job on the ComfyUI hosts under a call policy: lease a host, talk to it, give it back.

A ComfyUI server runs one prompt at a time anyway; queueing two jobs on one host while another idles
doubles the wait. So a job leases a free host from the process's host pool (scheduling.HostPool: the
host idle longest, which also moves a retry off the host that just failed; a host that failed
transiently is avoided for COMFYUI_HOST_COOLDOWN_S), holds it until the prompt has run, and gives it
back before its outputs download. The keyframe and clip backends lease from the same pool, so they share
the hosts; leases go round-robin between stories.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar

from loguru import logger

from app.core.errors import TerminalBackendError
from app.core.settings.base import CallPolicy
from app.core.settings.comfyui import ComfyUISettings
from app.services.backend import PolicedCaller, Readiness, hosts_readiness, is_transient
from app.services.comfyui.client import ComfyClient, Progress, probe_host
from app.services.comfyui.protocol import BACKEND, output_files
from app.services.scheduling import Lease, host_pool

T = TypeVar("T")
#: Room in each attempt's outer limit for fetching outputs and post-processing.
ATTEMPT_MARGIN_S = 120.0


class ComfyJobs:
    """Runs jobs `job(client, lease)` on a free host, with the backend's concurrency, retries and timeouts.

    Each attempt leases a host (waiting up to HOST_WAIT_S when all are busy), so a retry after a
    transient failure lands on another host when there is one. The backend's `job` policy gives the
    retries, backoff and concurrency (0 = the hosts alone limit it: one job each); its timeout
    (`job_timeout_s`) bounds one prompt from queueing to its end (the client enforces it and takes the
    prompt off the host when it passes), and each attempt may take that plus the host wait and a margin.
    The job may give its lease back early (`lease.release()`). There is one `ComfyClient` (one HTTP client)
    per host, kept until `aclose()`.
    """

    def __init__(self, settings: ComfyUISettings, job: CallPolicy):
        self.settings = settings
        self.hosts = settings.host_urls
        self.job_timeout_s = job.timeout_s
        policy = replace(job, timeout_s=settings.HOST_WAIT_S + job.timeout_s + ATTEMPT_MARGIN_S)
        self._call = PolicedCaller(BACKEND, policy)
        self._clients = {host: ComfyClient(host, settings) for host in self.hosts}

    async def run(self, job: Callable[[ComfyClient, Lease], Awaitable[T]]) -> T:
        return await self._call(lambda: self._attempt(job))

    async def _attempt(self, job: Callable[[ComfyClient, Lease], Awaitable[T]]) -> T:
        async with host_pool().lease(self.hosts, wait_s=self.settings.HOST_WAIT_S, backend=BACKEND,
                                     label="ComfyUI") as lease:
            try:
                return await job(self._clients[lease.host], lease)
            except Exception as exc:
                if is_transient(exc):
                    lease.fail(self.settings.HOST_COOLDOWN_S)
                raise

    async def ready(self) -> Readiness:
        """GET /system_stats on every host; not ready (naming the host) when any does not answer."""
        states = await asyncio.gather(*(probe_host(self._clients[host]) for host in self.hosts))
        return hosts_readiness("ComfyUI", {host: Readiness(ready=why is None, detail=why or "")
                                           for host, why in zip(self.hosts, states, strict=True)})

    async def aclose(self) -> None:
        for client in self._clients.values():
            await client.aclose()


async def run_and_fetch(client: ComfyClient, lease: Lease, graph: dict[str, Any], *, output_node: str, dest: Path,
                        timeout_s: float, label: str) -> None:
    """Run `graph` on the leased host, give the host back, and download the first file of `output_node` to `dest`."""
    entry = await client.run(graph, timeout_s=timeout_s, progress=progress_logger(client.base_url, label),
                             finished=lease.release)
    lease.release()
    files = output_files(entry, output_node)
    if not files:
        raise TerminalBackendError(BACKEND, "no_output", f"node {output_node} wrote no file")
    await client.download(files[0], dest)


def progress_logger(host: str, label: str, step: float = 0.25) -> Progress:
    """A progress callback that logs each `step` of the way."""
    logged = [-1.0]

    def report(fraction: float) -> None:
        mark = int(fraction / step) * step
        if mark > logged[0]:
            logged[0] = mark
            logger.debug("comfyui {} {}: {:.0%}", host, label, fraction)

    return report
