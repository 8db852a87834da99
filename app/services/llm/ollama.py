"""The `ollama` LLM backend: storyboards from a local Ollama server through the official `ollama` client.

Each call is one `/api/chat` with `stream: false` and `format` set to the JSON schema of the reply we
validate (Ollama's structured outputs constrain the model to it), with options temperature, num_ctx
and seed. Readiness asks `/api/tags` and checks the configured model is pulled.

`keep_alive` is an `api.Duration` on the server (ollama/ollama `api/types.go` `Duration.UnmarshalJSON`): a JSON
number is seconds (negative = keep the model loaded forever), a JSON string goes through Go's
`time.ParseDuration`, which refuses a number without a unit ("-1" → HTTP 400 `time: missing unit in duration
"-1"`). So OLLAMA_KEEP_ALIVE is sent as a number when it is one, as a string only when it is a valid Go
duration ("5m", "1h30m", "-1s"), and anything else is refused when the settings are read.
"""

from __future__ import annotations

import re
from typing import Any

import httpx
import ollama
from pydantic import field_validator

from app.core.settings import Settings
from app.services.backend import (
    BackendError,
    PolicySettings,
    Readiness,
    TerminalBackendError,
    TransientBackendError,
    backend_settings_config,
    http_status_error,
)
from app.services.llm.chat import ChatPlanner
from app.services.llm.llm_prompts import Message

NAME = "ollama"
#: Go's time.ParseDuration syntax: signed sequence of decimal numbers, each with a unit; "0" needs none.
GO_DURATION = re.compile(r"[-+]?(?:0|(?:(?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|µs|μs|ms|s|m|h))+)")


class OllamaSettings(PolicySettings):
    """OLLAMA_* settings, read from the environment (and .env); TIMEOUT_S, RETRIES and BACKOFF_MAX_S keep
    PolicySettings' defaults."""

    model_config = backend_settings_config("OLLAMA_")

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


class OllamaPlanner(ChatPlanner):
    """StoryboardPlanner on an Ollama server."""

    def __init__(self, settings: OllamaSettings):
        super().__init__(NAME, settings.policy(), settings.REPLY_RETRIES)
        self.settings = settings

    def _client(self, timeout_s: float) -> ollama.AsyncClient:
        return ollama.AsyncClient(host=self.settings.HOST, timeout=timeout_s)

    async def complete(self, messages: list[Message], schema: dict[str, Any]) -> str:
        """One non-streaming `/api/chat` whose `format` is the reply's JSON schema."""
        client = self._client(self.settings.TIMEOUT_S)
        try:
            response = await client.chat(**chat_arguments(self.settings, messages, schema))
        except ollama.ResponseError as exc:
            raise vendor_error(exc) from exc
        except (ConnectionError, httpx.TransportError) as exc:
            raise transport_error(exc) from exc
        finally:
            await client.close()
        return response.message.content or ""

    async def ready(self) -> Readiness:
        """Ready when `/api/tags` answers and lists the configured model."""
        client = self._client(self.settings.READY_TIMEOUT_S)
        try:
            listing = await client.list()
        except ollama.ResponseError as exc:
            return Readiness(ready=False, detail=f"/api/tags failed: {exc.error} (HTTP {exc.status_code})")
        except (ConnectionError, httpx.HTTPError) as exc:
            return Readiness(ready=False, detail=f"ollama is unreachable: {transport_error(exc).message}")
        finally:
            await client.close()
        pulled = [m.model for m in listing.models if m.model]
        model = self.settings.MODEL
        if is_pulled(model, pulled):
            return Readiness(ready=True, detail=f"model {model} is pulled")
        return Readiness(ready=False, detail=f"model {model} is not pulled (run: ollama pull {model})")


def chat_arguments(settings: OllamaSettings, messages: list[Message], schema: dict[str, Any]) -> dict[str, Any]:
    """The keyword arguments of `AsyncClient.chat` for one storyboard request."""
    options: dict[str, Any] = {"temperature": settings.TEMPERATURE, "num_ctx": settings.NUM_CTX}
    if settings.SEED is not None:
        options["seed"] = settings.SEED
    arguments: dict[str, Any] = {
        "model": settings.MODEL, "messages": messages, "format": schema, "options": options, "stream": False,
    }
    if settings.THINK is not None:
        arguments["think"] = settings.THINK
    if settings.KEEP_ALIVE.strip():
        arguments["keep_alive"] = keep_alive(settings.KEEP_ALIVE)
    return arguments


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


def is_pulled(model: str, pulled: list[str]) -> bool:
    """Whether `model` is among the pulled names ("qwen3" means "qwen3:latest")."""
    def full(name: str) -> str:
        return name if ":" in name.rsplit("/", 1)[-1] else f"{name}:latest"
    return full(model) in {full(name) for name in pulled}


def vendor_error(exc: ollama.ResponseError) -> BackendError:
    """Ollama's `{"error": …}` by status: 404 = model not found (terminal), 408/429/5xx transient, other 4xx
    terminal; -1 (an error line inside a stream) is treated as a server error."""
    if exc.status_code == 404:
        return TerminalBackendError(NAME, "model_not_found", str(exc.error))
    return http_status_error(NAME, exc.status_code if exc.status_code > 0 else 500, str(exc.error))


def transport_error(exc: BaseException) -> TransientBackendError:
    """A connection failure or a read timeout, as a transient error without the client's boilerplate."""
    if isinstance(exc, httpx.TimeoutException):
        return TransientBackendError(NAME, "timeout", "ollama did not answer in time")
    return TransientBackendError(NAME, "unreachable", "cannot connect to the ollama server")


def create(settings: Settings | None) -> OllamaPlanner:  # noqa: ARG001 - the factory signature is fixed
    """Factory for the `ollama` LLM backend; its settings come from OLLAMA_* variables."""
    return OllamaPlanner(OllamaSettings())
