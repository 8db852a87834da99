"""Import a file that is not in a package (a model server's api.py, a bench script) by its path."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType


def import_by_path(name: str, path: Path) -> ModuleType:
    """Run the file at `path` as module `name`, registered in sys.modules first (dataclasses and pickle look
    their module up there)."""
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module
