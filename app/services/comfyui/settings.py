"""Settings every ComfyUI backend shares: the hosts and how they are talked to (env prefix COMFYUI_)."""

from __future__ import annotations


def split_hosts(value: str) -> tuple[str, ...]:
    """The base URLs of a comma list, without trailing slashes or repeats."""
    return tuple(dict.fromkeys(h.strip().rstrip("/") for h in value.split(",") if h.strip()))
