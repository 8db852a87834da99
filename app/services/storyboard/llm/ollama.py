"""The `ollama` LLM backend: storyboards from a local Ollama server through the official `ollama` client.

Each call is one `/api/chat` with `stream: false` and `format` set to the JSON schema of the reply we
validate (Ollama's structured outputs constrain the model to it), with options temperature, num_ctx
and seed. Readiness asks `/api/tags` and checks the configured model is pulled. The backend keeps one
`ollama.AsyncClient` (one httpx connection pool) for its life; `aclose()` closes it.

`keep_alive` is an `api.Duration` on the server (ollama/ollama `api/types.go` `Duration.UnmarshalJSON`): a JSON
number is seconds (negative = keep the model loaded forever), a JSON string goes through Go's
`time.ParseDuration`, which refuses a number without a unit ("-1" → HTTP 400 `time: missing unit in duration
"-1"`). So OLLAMA_KEEP_ALIVE is sent as a number when it is one, as a string only when it is a valid Go
duration ("5m", "1h30m", "-1s"), and anything else is refused when the settings are read.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import ollama

from app.core.errors import BackendError, TerminalBackendError, TransientBackendError
from app.core.settings import Settings
from app.core.settings.storyboard import OllamaSettings, keep_alive
from app.services.backend import Readiness, http_status_error
from app.services.storyboard.llm.chat import ChatPlanner
from app.services.storyboard.llm.prompts import Message

NAME = "ollama"


class OllamaPlanner(ChatPlanner):
    """StoryboardPlanner on an Ollama server."""

    def __init__(self, settings: OllamaSettings):
        super().__init__(NAME, settings.policy(), settings.REPLY_RETRIES)
        self.settings = settings
        self._client = ollama.AsyncClient(host=settings.HOST, timeout=settings.TIMEOUT_S)

    async def complete(self, messages: list[Message], schema: dict[str, Any]) -> str:
        """One non-streaming `/api/chat` whose `format` is the reply's JSON schema."""
        try:
            response = await self._client.chat(**chat_arguments(self.settings, messages, schema))
        except ollama.ResponseError as exc:
            raise vendor_error(exc) from exc
        except (ConnectionError, httpx.TransportError) as exc:
            raise transport_error(exc) from exc
        return response.message.content or ""

    async def ready(self) -> Readiness:
        """Ready when `/api/tags` answers within READY_TIMEOUT_S and lists the configured model."""
        try:
            async with asyncio.timeout(self.settings.READY_TIMEOUT_S):
                listing = await self._client.list()
        except ollama.ResponseError as exc:
            return Readiness(ready=False, detail=f"/api/tags failed: {exc.error} (HTTP {exc.status_code})")
        except (ConnectionError, TimeoutError, httpx.HTTPError) as exc:
            return Readiness(ready=False, detail=f"ollama is unreachable: {transport_error(exc).message}")
        pulled = [m.model for m in listing.models if m.model]
        model = self.settings.MODEL
        if is_pulled(model, pulled):
            return Readiness(ready=True, detail=f"model {model} is pulled")
        return Readiness(ready=False, detail=f"model {model} is not pulled (run: ollama pull {model})")

    async def aclose(self) -> None:
        await self._client.close()  # type: ignore[no-untyped-call]  # ollama's AsyncClient.close is unannotated


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
    if isinstance(exc, httpx.TimeoutException | TimeoutError):
        return TransientBackendError(NAME, "timeout", "ollama did not answer in time")
    return TransientBackendError(NAME, "unreachable", "cannot connect to the ollama server")


def create(settings: Settings) -> OllamaPlanner:
    """Factory for the `ollama` LLM backend; its settings come from OLLAMA_* variables."""
    return OllamaPlanner(settings.ollama)
