"""`doctor`: is this machine, with these settings, able to run the service?

It checks what the embedded backends and the composition need (ffmpeg, ffprobe, espeak-ng, the subtitle
font, a CJK font for the storyboard cards), the data folder (writable, free space), the music folder,
and asks every configured backend of every stage (fallbacks included) whether it is ready — the same
checks as `/readyz`, run from here. Exit code 1 when any check fails; warnings do not fail.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Annotated, Literal

import typer
from rich.console import Console
from rich.table import Table

from app.core.errors import ConfigurationError
from app.core.settings import EMBEDDED, Settings
from app.services.compose.fonts import font_file
from app.services.health import Health
from app.services.keyframe.cardtext import find_cjk_font
from app.services.readiness import readiness_report
from app.services.registry import build_providers

Level = Literal["ok", "warn", "fail"]
#: Below this much free space in DATA_DIR a render may not finish.
MIN_FREE_BYTES = 1 << 30
console = Console()


@dataclass(frozen=True)
class Check:
    name: str
    level: Level
    detail: str


def _tool(binary: str, needed: bool, why: str) -> Check:
    path = shutil.which(binary)
    if path is None:
        return Check(binary, "fail" if needed else "warn", f"{binary} is not installed ({why})")
    try:
        first = subprocess.run([binary, "-version" if binary.startswith("ff") else "--version"], capture_output=True,
                               text=True, timeout=10).stdout.splitlines()
    except (OSError, subprocess.SubprocessError) as exc:
        return Check(binary, "fail", f"{path} does not run: {exc}")
    return Check(binary, "ok", f"{path}: {first[0].split(' Copyright')[0] if first else 'found'}")


def _fonts(settings: Settings) -> list[Check]:
    family = settings.compose.font
    found = font_file(family)
    checks = [Check("subtitle font", "ok", f"{family}: {found[0]}") if found else
              Check("subtitle font", "fail", f"font {family!r} (SUBTITLE_FONT) is not installed: fontconfig has no "
                    "such family (Debian: apt-get install fonts-noto-cjk)")]
    embedded_cards = EMBEDDED in settings.stages.chain_for("keyframe")
    cjk = find_cjk_font(family)
    if cjk:
        checks.append(Check("CJK font", "ok", f"{cjk[0]} (storyboard cards, contact sheet)"))
    else:
        checks.append(Check("CJK font", "fail" if embedded_cards else "warn",
                            "no font with Chinese glyphs: storyboard cards and contact sheets cannot draw Chinese "
                            "(Debian: apt-get install fonts-noto-cjk)"))
    return checks


def _data_dir(settings: Settings) -> list[Check]:
    folder = settings.state.DATA_DIR.resolve()
    existing = next((p for p in [folder, *folder.parents] if p.exists()), Path("/"))
    checks = []
    if not os.access(existing, os.W_OK | os.X_OK):
        checks.append(Check("data folder", "fail", f"{existing} is not writable (DATA_DIR={settings.state.DATA_DIR})"))
    else:
        checks.append(Check("data folder", "ok", f"{folder}" + ("" if folder.exists() else " (will be created)")))
    free = shutil.disk_usage(existing).free
    level: Level = "ok" if free >= MIN_FREE_BYTES else "fail"
    checks.append(Check("disk space", level, f"{free / (1 << 30):.1f} GiB free at {existing}"
                        + ("" if level == "ok" else f" (less than {MIN_FREE_BYTES >> 30} GiB)")))
    music, default = settings.music_dir, settings.film.DEFAULT_BGM
    if default and default.lower() != "none" and not (music / default).is_file():
        checks.append(Check("music", "fail", f"DEFAULT_BGM {default!r} is not in {music}"))
    elif settings.film.MUSIC_DIR is not None and not music.is_dir():
        checks.append(Check("music", "warn", f"MUSIC_DIR {music} does not exist"))
    return checks


async def _backends(settings: Settings) -> list[Check]:
    try:
        providers = build_providers(settings)
    except ConfigurationError as exc:
        return [Check("backends", "fail", str(exc))]
    try:
        report = await readiness_report(providers, Health(), settings.state.DATA_DIR, settings.work.MIN_FREE_DISK_MB)
    finally:
        await providers.aclose()
    return [Check(f"{b['stage']}:{b['backend']}", "ok" if b["ready"] else "fail",
                  b["detail"] or ("ready" if b["ready"] else "not ready"))
            for b in report["backends"]]


def run_checks(settings: Settings) -> list[Check]:
    narration_embedded = EMBEDDED in settings.stages.chain_for("narration")
    checks = [
        _tool("ffmpeg", True, "composition, Ken Burns clips"),
        _tool("ffprobe", True, "media probing"),
        _tool("espeak-ng", narration_embedded, "the embedded narration backend"),
        *_fonts(settings),
        *_data_dir(settings),
    ]
    checks += asyncio.run(_backends(settings))
    return checks


def doctor(as_json: Annotated[bool, typer.Option("--json", help="Print the checks as JSON")] = False) -> None:
    """Check tools, fonts, disk and every configured backend; exit 1 when something is wrong."""
    settings = Settings()
    checks = run_checks(settings)
    failed = [c for c in checks if c.level == "fail"]
    if as_json:
        print(json.dumps({"ok": not failed, "checks": [asdict(c) for c in checks]}, ensure_ascii=False))
    else:
        table = Table("check", "", "detail", title="story2video doctor")
        marks = {"ok": "[green]ok[/]", "warn": "[yellow]warn[/]", "fail": "[red]FAIL[/]"}
        for check in checks:
            table.add_row(check.name, marks[check.level], check.detail)
        console.print(table)
        for check in failed:
            console.print(f"[red]problem[/]: {check.name}: {check.detail}", highlight=False, soft_wrap=True)
        console.print("[green]all good[/]" if not failed else f"[red]{len(failed)} problem(s)[/]")
    raise typer.Exit(1 if failed else 0)
