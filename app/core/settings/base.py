"""What every backend's settings section shares: how it reads the environment, and its call policy."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from pydantic_settings import BaseSettings, SettingsConfigDict


def section_config(env_prefix: str = "") -> SettingsConfigDict:
    """A settings section's `model_config`: `env_prefix`* names from the environment or .env, empty
    values ignored (the default holds), unknown names ignored."""
    return SettingsConfigDict(env_prefix=env_prefix, env_file=".env", env_ignore_empty=True, extra="ignore",
                              populate_by_name=True)


def split_hosts(value: str) -> tuple[str, ...]:
    """The base URLs of a comma list, without trailing slashes or repeats."""
    return tuple(dict.fromkeys(h.strip().rstrip("/") for h in value.split(",") if h.strip()))


def check_http_urls(name: str, urls: Sequence[str]) -> None:
    """Raise ValueError unless `urls` (the setting `name`) holds at least one http(s) base URL and nothing else."""
    if not urls:
        raise ValueError(f"{name} names no host")
    for url in urls:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"{name} entry {url!r} is not an http(s) base URL")


@dataclass(frozen=True)
class CallPolicy:
    """How one backend is called: at most `concurrency` at once (0 = no limit of its own), each attempt bounded
    by `timeout_s`, transient failures retried `retries` times with exponential backoff and jitter."""

    concurrency: int = 1
    timeout_s: float = 600.0
    retries: int = 2
    backoff_base_s: float = 1.0
    backoff_max_s: float = 30.0


class RetrySettings(BaseSettings):
    """The call-policy knobs but the attempt timeout, for backends whose timeouts have names of their own;
    each backend subclasses this with its own env prefix and overrides the defaults it changes."""

    CONCURRENCY: int = 2
    RETRIES: int = 2
    BACKOFF_BASE_S: float = 2.0
    BACKOFF_MAX_S: float = 30.0

    def call_policy(self, *, timeout_s: float, concurrency: int | None = None) -> CallPolicy:
        """These retries and backoff, each attempt bounded by `timeout_s`; CONCURRENCY unless `concurrency`."""
        return CallPolicy(concurrency=self.CONCURRENCY if concurrency is None else concurrency, timeout_s=timeout_s,
                          retries=self.RETRIES, backoff_base_s=self.BACKOFF_BASE_S, backoff_max_s=self.BACKOFF_MAX_S)


class PolicySettings(RetrySettings):
    """CallPolicy knobs; each backend subclasses this with its own env prefix and defaults."""

    TIMEOUT_S: float = 300.0

    def policy(self) -> CallPolicy:
        return self.call_policy(timeout_s=self.TIMEOUT_S)
