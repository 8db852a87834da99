"""Start-up clean-up: temp files and working folders a killed process left behind.

Every temp the service writes has a name starting with "." (atomic writes, assets being produced,
composition working folders, publish staging); no finished file does. At start-up nothing runs yet,
so every such name under the state, media and outbox folders is a leftover.
"""

from __future__ import annotations

import shutil
from pathlib import Path

SWEPT = ("stories", "operations", "media", "outbox", "outbox-dead")


def sweep_leftovers(data_dir: Path) -> list[Path]:
    """Remove dot-named files and folders below the swept folders; return what was removed."""
    removed: list[Path] = []
    for name in SWEPT:
        root = data_dir / name
        if root.exists():
            _sweep(root, removed)
    return removed


def _sweep(folder: Path, removed: list[Path]) -> None:
    for entry in list(folder.iterdir()):
        if entry.name.startswith("."):
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                entry.unlink(missing_ok=True)
            removed.append(entry)
        elif entry.is_dir() and not entry.is_symlink():
            _sweep(entry, removed)
