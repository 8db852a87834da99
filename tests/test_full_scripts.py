"""A full multi-paragraph script: shots follow the story's order and every sentence is narrated once."""

from __future__ import annotations

import re

import pytest

from app.services.storyboard.language.text import split_sentences
from tests.media import probe, stream
from tests.server import wait_for
from tests.test_api_flow import srt_text

SMALL = {"VIDEO_WIDTH": "480", "VIDEO_HEIGHT": "270"}


def squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


@pytest.mark.parametrize("name", ["puppy_zh", "lighthouse_en"])
def test_full_script_is_narrated_in_order_exactly_once(start_service, example_story, name, tmp_path):
    spec = example_story(name)
    ids = {"story_id": f"story-{name.replace('_', '-')}", "user_id": "u-1"}
    service = start_service(SMALL)
    with service.client() as client:
        client.post("/api/v1/storyboard/create", json={**ids, "operation_id": "op-c", **spec})
        created = wait_for(client, "op-c")
        assert created["status"] == "succeeded", created["error"]
        shots = created["result"]["shots"]
        assert 4 <= len(shots) <= 12
        narrated = squash("".join(s["narration"] for s in shots))
        sentences = [squash(s) for s in split_sentences(spec["script_content"])]
        assert len(sentences) >= 8
        assert narrated == "".join(sentences)  # in order, nothing added, nothing lost
        for sentence in sentences:
            assert narrated.count(sentence) == 1

        client.post("/api/v1/video/render", json={**ids, "operation_id": "op-r"})
        rendered = wait_for(client, "op-r")
        assert rendered["status"] == "succeeded", rendered["error"]
        subtitles = srt_text(client.get(rendered["result"]["subtitle_url"]).text)
        positions = [subtitles.find(sentence) for sentence in sentences]
        assert -1 not in positions and positions == sorted(positions)
        video = tmp_path / "film.mp4"
        video.write_bytes(client.get(rendered["result"]["video_url"]).content)
        assert (stream(probe(video), "video")["width"], stream(probe(video), "video")["height"]) == (480, 270)
    assert f"op=op-r story={ids['story_id']}" in service.log()
