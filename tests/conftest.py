from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.scaleout import cluster, database  # noqa: F401  (fixtures of the scale-out tests)
from tests.server import REPO, ServiceProcess

EXAMPLES = REPO / "example" / "stories"


@pytest.fixture
def start_service(tmp_path: Path) -> Iterator[Callable[..., ServiceProcess]]:
    """Start real service processes on `tmp_path/data`; all are stopped at teardown."""
    started: list[ServiceProcess] = []

    def start(env: dict[str, str] | None = None, data_dir: Path | None = None) -> ServiceProcess:
        service = ServiceProcess(data_dir or tmp_path / "data", env).start()
        started.append(service)
        return service

    yield start
    for service in started:
        service.stop()


@pytest.fixture
def example_story() -> Callable[[str], dict]:
    return lambda name: json.loads((EXAMPLES / f"{name}.json").read_text(encoding="utf-8"))
