"""What the LLM planners (Ollama, DashScope Qwen) share: the conversation around one chat completion.

A planner subclass only implements `complete(messages, schema) -> str`, one call to its vendor that
raises `BackendError`s. Here each call runs under the backend's `CallPolicy` (concurrency, timeout,
retries of transient errors); a reply that is not a valid storyboard is sent back to the model with
the validation error, at most `reply_retries` times, before `TerminalBackendError("invalid_reply")`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from functools import partial
from typing import Any, TypeVar

from loguru import logger

from app.core.errors import ReplyError, TerminalBackendError
from app.core.settings.base import CallPolicy
from app.models.storyboard import Character, PlannedShot, ShotEdit, Storyboard
from app.services.backend import PolicedCaller
from app.services.storyboard.language.text import detect_language
from app.services.storyboard.llm.assemble import apply_revision, merge_edit, needs_new_picture, to_storyboard
from app.services.storyboard.llm.prompts import Message, feedback_messages, plan_messages, revise_messages
from app.services.storyboard.llm.reply import (
    RevisionReply,
    StoryboardReply,
    json_schema,
    parse_revision_reply,
    parse_storyboard_reply,
)

T = TypeVar("T")

#: the JSON schemas of the replies (Ollama's `format`)
STORYBOARD_SCHEMA = json_schema(StoryboardReply)
REVISION_SCHEMA = json_schema(RevisionReply)


class ChatPlanner(ABC):
    """A StoryboardPlanner backed by a chat LLM that replies in json."""

    def __init__(self, name: str, policy: CallPolicy, reply_retries: int):
        self.name = name
        self.reply_retries = max(reply_retries, 0)
        self._call = PolicedCaller(name, policy)

    @abstractmethod
    async def complete(self, messages: list[Message], schema: dict[str, Any]) -> str:
        """One chat completion: the reply's text. Raises BackendError subclasses."""

    async def plan(self, *, script: str, style: str, title: str) -> Storyboard:
        """Plan a storyboard of 4–12 shots with a character bible; see `StoryboardPlanner.plan`."""
        language = detect_language(script)
        messages = plan_messages(script=script, style=style, title=title, language=language)
        reply = await self.converse(messages, STORYBOARD_SCHEMA, parse_storyboard_reply, language)
        return to_storyboard(reply, title=title, language=language)

    async def revise_shot(
        self, *, shot: PlannedShot, edit: ShotEdit, characters: list[Character], style: str
    ) -> PlannedShot:
        """Merge the edit (the user's `detail` kept exactly as written) and have the model write a
        consistent `image_detail` and video prompts; an edit of the narration alone needs no call."""
        merged = merge_edit(shot, edit)
        if not needs_new_picture(edit):
            return merged
        language = detect_language(f"{merged.detail} {merged.narration}")
        messages = revise_messages(shot=merged, previous_image=shot.image_detail, characters=characters,
                                   style=edit.style or style, language=language)
        revision = await self.converse(messages, REVISION_SCHEMA, parse_revision_reply, language)
        return apply_revision(merged, revision, characters, language)

    async def converse(self, messages: list[Message], schema: dict[str, Any], parse: Callable[[str], T],
                       language: str) -> T:
        """Ask until `parse` accepts the reply; each rejection is fed back with its error.

        Raises:
            TerminalBackendError: code "invalid_reply" once `reply_retries` re-asks were not enough.
        """
        attempt_messages = messages
        error = ""
        for attempt in range(self.reply_retries + 1):
            text = await self._call(partial(self.complete, attempt_messages, schema))
            try:
                return parse(text)
            except ReplyError as exc:
                error = str(exc)
                logger.warning("{} reply {} rejected: {}", self.name, attempt + 1, error)
                attempt_messages = [*messages, *feedback_messages(text, error, language)]
        raise TerminalBackendError(
            self.name, "invalid_reply", f"no valid reply after {self.reply_retries + 1} attempts: {error}")
