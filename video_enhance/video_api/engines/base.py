"""What an engine is: the protocol every engine follows, and the check for missing Python packages."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Literal, Protocol

from ..errors import EngineNotConfigured
from ..media import VideoInfo

Step = Literal["sr", "interp"]


class Engine(Protocol):
    """What every engine offers. A filter engine (``gpu`` false) also has ``filter``, a file engine
    (``gpu`` true) has ``run``; the pipeline picks the method by ``gpu``."""

    name: str
    step: Step
    gpu: bool

    def check(self) -> None:
        """Raise ``EngineNotConfigured`` (cheaply: no heavy imports) when this engine cannot run here."""
        ...

    def load(self) -> None:
        """Import and load the model (GPU engines); called once at start-up."""
        ...


class FilterEngine(Engine, Protocol):
    def filter(self, *, factor: int, info: VideoInfo) -> str:
        """The FFmpeg filter doing this step."""
        ...


class FileEngine(Engine, Protocol):
    def run(self, src: Path, dst: Path, *, factor: int, info: VideoInfo) -> None:
        """Write ``src`` enhanced by ``factor`` to ``dst``, video only."""
        ...


def require_modules(engine: str, *modules: str) -> None:
    """``EngineNotConfigured`` naming the Python packages missing from this environment."""
    missing = [m for m in modules if importlib.util.find_spec(m) is None]
    if missing:
        raise EngineNotConfigured(f"{engine} needs the Python packages {', '.join(missing)} in the service's "
                                  f"environment (deploy.sh installs them)")
