"""Settings sections of the storyboard backends: Ollama and DashScope Qwen."""

from __future__ import annotations

import re

from pydantic import field_validator

from app.core.settings.base import PolicySettings, section_config

#: A Go time.Duration as Ollama's api.Duration parses it (unit required).
GO_DURATION = re.compile(r"[-+]?(?:0|(?:(?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|µs|μs|ms|s|m|h))+)")


class OllamaSettings(PolicySettings):
    """OLLAMA_* settings, read from the environment (and .env); TIMEOUT_S, RETRIES and BACKOFF_MAX_S keep
    PolicySettings' defaults."""

    model_config = section_config("OLLAMA_")

    HOST: str = "http://127.0.0.1:11434"
    #: a non-thinking instruct model that follows JSON schemas well at 7B; qwen3 works with THINK=false
    MODEL: str = "qwen2.5:7b-instruct"
    TEMPERATURE: float = 0.7
    NUM_CTX: int = 16384
    SEED: int | None = None
    #: sent as `think` when set (qwen3: false); unset = the model's default
    THINK: bool | None = None
    #: how long the server keeps the model loaded after a call: seconds ("300", "-1" = forever) or a Go duration
    #: ("5m", "1h"); empty = server default
    KEEP_ALIVE: str = ""
    CONCURRENCY: int = 1
    BACKOFF_BASE_S: float = 1.0
    #: how many times an invalid storyboard is sent back with its validation error
    REPLY_RETRIES: int = 2
    READY_TIMEOUT_S: float = 5.0

    @field_validator("KEEP_ALIVE")
    @classmethod
    def _duration(cls, value: str) -> str:
        if value.strip():
            keep_alive(value)  # raises ValueError for what Ollama would answer 400 to
        return value


class QwenSettings(PolicySettings):
    """DASHSCOPE_LLM_* settings: the model, its sampling, and the call policy."""

    model_config = section_config("DASHSCOPE_LLM_")

    MODEL: str = "qwen-plus"
    TEMPERATURE: float = 0.7
    SEED: int | None = None
    MAX_TOKENS: int = 8000
    CONCURRENCY: int = 4
    TIMEOUT_S: float = 180.0
    #: how many times an invalid storyboard is sent back with its validation error
    REPLY_RETRIES: int = 2


def keep_alive(value: str) -> float | str:
    """OLLAMA_KEEP_ALIVE as Ollama parses it: a number of seconds (sent as a JSON number; negative = forever) or
    a Go duration string; ValueError for anything else (a bare "-1" string would be answered 400)."""
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        if not GO_DURATION.fullmatch(text):
            raise ValueError(f"OLLAMA_KEEP_ALIVE={value!r} is neither seconds (300, -1) nor a duration (5m, 1h30m)") \
                from None
        return text
    return int(seconds) if seconds.is_integer() else seconds
