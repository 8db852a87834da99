"""Where and when each shot happens: the place and sky carried from shot to shot.

A shot shows the last place its narration names (where its action ends up), not one it leaves; with no
place named it stays where the story was. Its sky is the story's clock and weather after its cues; a
"next day" at its very end changes the next shot, not this one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from app.services.storyboard.rules.daytime import NEW_DAY, TIMES, Cue, Sky
from app.services.storyboard.rules.setting import Place, PlaceMention


@dataclass(frozen=True)
class Scene:
    """A shot's place and sky."""

    place: Place
    sky: Sky


class SceneTracker:
    """Carries place and sky from shot to shot."""

    def __init__(self, place: Place, sky: Sky | None = None) -> None:
        self.place = place
        self.sky = sky or Sky()

    def shot(self, places: Sequence[PlaceMention], cues: Sequence[Cue], ahead: Ahead | None = None) -> Scene:
        """The scene of the next shot, from the places and cues in its own text.

        `ahead` holds the places and cues later in the shot's paragraph, when the paragraph has said
        none before the shot: a paragraph is one scene, so a shot that opens it without saying where or
        when is where and when the paragraph goes on to say.
        """
        staying = [m.place for m in places if not m.leaving]
        if staying:
            self.place = staying[-1]
        picture = replace(self.sky)
        for cue in cues:
            self.sky.apply(cue)
            if cue.event != NEW_DAY:
                picture = replace(self.sky)
        if cues and cues[-1].event == NEW_DAY and len(cues) == 1:
            picture = replace(self.sky)
        place = self.place
        if ahead is not None:
            later = [m.place for m in ahead.places if not m.leaving]
            place = later[0] if later and not staying else place
            time = next((c.event for c in ahead.cues if c.event in TIMES), None)
            if time is not None and not any(c.event in TIMES for c in cues):
                picture = Sky(time, picture.weather)
        return Scene(place, picture)


@dataclass(frozen=True)
class Ahead:
    """Places and cues later in a shot's paragraph."""

    places: Sequence[PlaceMention]
    cues: Sequence[Cue]
