"""The `dashscope` LLM backend: storyboards from DashScope Qwen (qwen-plus) through the `dashscope` SDK.

Each call is `AioGeneration.call` (the native text-generation endpoint) with `result_format="message"`
and JSON mode (`response_format={"type": "json_object"}`, which needs the word "json" in the prompt),
thinking off. The account (key, region base URL, workspace) is the shared `DashScopeSettings`; the base
URL goes with every call as `base_address`, so the SDK's module globals are never touched. Errors map
as for every DashScope backend: Throttling / 429 / 5xx transient, DataInspectionFailed (moderation),
InvalidApiKey and other 4xx terminal.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import aiohttp
from dashscope.aigc.generation import AioGeneration
from dashscope.api_entities.dashscope_response import GenerationResponse

from app.core.errors import BackendError, TransientBackendError
from app.core.settings import Settings
from app.core.settings.dashscope import DashScopeSettings
from app.core.settings.storyboard import QwenSettings
from app.services.backend import Readiness
from app.services.dashscope_common import DashScopeClient, sdk_error, vendor_error
from app.services.storyboard.llm.chat import ChatPlanner
from app.services.storyboard.llm.prompts import Message

NAME = "dashscope"


class QwenPlanner(ChatPlanner):
    """StoryboardPlanner on DashScope Qwen."""

    def __init__(self, settings: QwenSettings, account: DashScopeSettings):
        super().__init__(NAME, settings.policy(), settings.REPLY_RETRIES)
        self.settings = settings
        self.account = DashScopeClient(NAME, account)

    async def complete(self, messages: list[Message], schema: dict[str, Any]) -> str:  # noqa: ARG002
        """One JSON-mode generation (the schema is described in the prompt; JSON mode takes none)."""
        arguments = generation_arguments(self.settings, self.account.settings, messages)
        try:
            rsp = await AioGeneration.call(api_key=self.account.api_key(), **arguments)
        except BackendError:
            raise
        except aiohttp.ClientError as exc:
            raise TransientBackendError(NAME, "unreachable", f"cannot reach DashScope: {type(exc).__name__}") from exc
        except Exception as exc:
            raise sdk_error(NAME, exc) from exc
        if not isinstance(rsp, GenerationResponse):  # a stream: only with stream=True, which we never pass
            raise TransientBackendError(NAME, "bad_response", f"expected one response, got {type(rsp).__name__}")
        if rsp.status_code != 200:
            raise vendor_error(NAME, rsp.status_code, rsp.code, rsp.message, rsp.request_id)
        return reply_text(rsp.output or {})

    async def ready(self) -> Readiness:
        """Ready when the key is set and DashScope accepts it (a task lookup, as for the other DashScope
        backends; a generation would cost tokens)."""
        return await self.account.ready()

    async def aclose(self) -> None:
        """Close the account client (generations go through the SDK's own process-wide aiohttp session)."""
        await self.account.aclose()


def generation_arguments(settings: QwenSettings, account: DashScopeSettings,
                         messages: list[Message]) -> dict[str, Any]:
    """The keyword arguments of `AioGeneration.call` for one storyboard request (without the key)."""
    arguments: dict[str, Any] = {
        "model": settings.MODEL,
        "messages": messages,
        "result_format": "message",
        "response_format": {"type": "json_object"},
        "enable_thinking": False,
        "temperature": settings.TEMPERATURE,
        "max_tokens": settings.MAX_TOKENS,
        "base_address": account.BASE_HTTP_URL,
        "request_timeout": int(settings.TIMEOUT_S),
    }
    if settings.SEED is not None:
        arguments["seed"] = settings.SEED
    if account.WORKSPACE:
        arguments["workspace"] = account.WORKSPACE
    return arguments


def reply_text(output: Mapping[str, Any]) -> str:
    """The assistant's text in a generation `output` (message format, or the older text format)."""
    choices = output.get("choices") or []
    if choices:
        message = choices[0].get("message") or {}
        return str(message.get("content") or "")
    return str(output.get("text") or "")


def create(settings: Settings) -> QwenPlanner:
    """Factory for the `dashscope` LLM backend: DASHSCOPE_* account, DASHSCOPE_LLM_* model settings."""
    return QwenPlanner(settings.qwen, settings.dashscope)
