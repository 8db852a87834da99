"""A render option is one field on RenderOverrides: it reaches the compose options and the fingerprint."""

from __future__ import annotations

from pydantic import Field

from app.core.settings import Settings
from app.models import freshness
from app.models.render import RenderOverrides
from app.models.requests import RenderVideoRequest
from app.models.story import Story


class WithDucking(RenderOverrides):
    """A test-only option, declared in one place and nowhere else."""

    music_duck_db: float | None = Field(None, ge=0.0, le=30.0)


def story() -> Story:
    return Story(story_id="s", user_id="u", display_name="d", script_content="x", style="")


def test_a_new_override_field_reaches_the_compose_options_and_the_fingerprint() -> None:
    settings = Settings(MUSIC_DUCK_DB=12)
    plain = freshness.video_fingerprint(story(), settings, WithDucking())
    ducked = WithDucking(music_duck_db=3.5)
    assert freshness.compose_options(story(), settings, ducked).music_duck_db == 3.5
    assert freshness.compose_options(story(), settings, WithDucking()).music_duck_db == 12
    assert freshness.video_fingerprint(story(), settings, ducked) != plain
    assert freshness.video_fingerprint(story(), settings, WithDucking(music_duck_db=3.5)) == \
        freshness.video_fingerprint(story(), settings, ducked)


def test_the_render_request_carries_every_override_field() -> None:
    assert set(RenderOverrides.model_fields) <= set(RenderVideoRequest.model_fields)
    request = RenderVideoRequest(operation_id="o", story_id="s", user_id="u", transition="crossfade",
                                 burn_subtitles=False, enhance=False)
    assert request.composition() == {"transition": "crossfade", "burn_subtitles": False, "enhance": False}
    options = freshness.compose_options(story(), Settings(), request.composition())
    assert (options.transition, options.burn_subtitles) == ("crossfade", False)
