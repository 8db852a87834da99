"""Every shell script in the repository passes shellcheck (tracked and untracked, ignored folders excluded)."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from tests.server import REPO

REQUIRED = {"deploy.sh", "video_enhance/sr_if.sh", "scripts/setup.sh", ".ci/run"}


def shell_scripts() -> list[str]:
    """``*.sh`` known to git (tracked or untracked, not ignored), plus the extension-less CI entry point."""
    listed = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard", "*.sh"], cwd=REPO,
                            capture_output=True, text=True, check=True).stdout.split()
    present = [p for p in listed if (REPO / p).is_file()]
    return sorted(set(present) | {p for p in REQUIRED if (REPO / p).is_file()})


def test_the_scripts_that_must_exist_are_found() -> None:
    assert REQUIRED <= set(shell_scripts())


def test_shellcheck_passes_on_every_shell_script() -> None:
    if shutil.which("shellcheck") is None:
        pytest.fail("shellcheck is not installed (scripts/setup.sh installs it)")
    done = subprocess.run(["shellcheck", "--external-sources", *shell_scripts()], cwd=REPO, capture_output=True,
                          text=True)
    assert done.returncode == 0, done.stdout + done.stderr
