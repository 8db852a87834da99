"""Atomic JSON writes and the state store."""

from __future__ import annotations

import asyncio
import json

import pytest

from app.models.story import Story
from app.state import atomic
from app.state.atomic import atomic_write_json
from app.state.store import JsonStateStore


def test_failed_write_keeps_the_old_file_and_leaves_no_temp(tmp_path, monkeypatch):
    target = tmp_path / "state.json"
    atomic_write_json(target, {"version": 1})

    def crash(*_):
        raise OSError("disk full")

    monkeypatch.setattr(atomic.os, "replace", crash)
    with pytest.raises(OSError):
        atomic_write_json(target, {"version": 2})
    assert json.loads(target.read_text()) == {"version": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["state.json"]


async def test_concurrent_updates_of_one_story_are_not_lost(tmp_path):
    store = JsonStateStore(tmp_path)
    await store.put_story(Story(story_id="s1", user_id="u", display_name="d", script_content="x", style=""))

    async def bump(i: int) -> None:
        await store.update_story("s1", lambda s: setattr(s, "script_content", s.script_content + str(i % 10)))

    await asyncio.gather(*(bump(i) for i in range(40)))
    story = await store.get_story("s1")
    assert len(story.script_content) == 41


async def test_story_ids_of_lists_only_the_users_stories(tmp_path):
    store = JsonStateStore(tmp_path)
    for sid, user in (("a", "u1"), ("b", "u2"), ("c", "u1")):
        await store.put_story(Story(story_id=sid, user_id=user, display_name="", script_content="x", style=""))
    assert await store.story_ids_of("u1") == ["a", "c"]
