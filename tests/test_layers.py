"""No module imports a layer above its own (the layers of docs/architecture.md, top to bottom)."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.server import REPO

#: Module prefix → layer rank; a module may import its own rank and lower ones only. Longest prefix wins.
LAYERS = {
    "app.main": 8, "app.cli": 8, "app.cli_client": 8, "app.cli_doctor": 8, "app.cli_scaleout": 8,
    "app.api": 7,
    "app.services.pipeline": 6,
    "app.services.registry": 5, "app.services.chain": 5, "app.services.readiness": 5,
    "app.services": 4,  # the stage packages: storyboard, keyframe, clip, narration, publish, compose, callbacks…
    "app.services.ffmpeg": 3, "app.services.media_fetch": 3, "app.services.http_transport": 3,
    "app.services.backend": 3, "app.services.local_server": 3, "app.services.dashscope_common": 3,
    "app.services.scheduling": 3, "app.services.polling": 3, "app.services.worker_pool": 3,
    "app.state": 2,
    "app.models": 1,
    "app.core": 0,
}


def rank(module: str) -> int:
    best = max((p for p in LAYERS if module == p or module.startswith(p + ".")), key=len)
    return LAYERS[best]


def imports(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append(node.module)
        elif isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
    return [name for name in found if name.startswith("app.")]


def test_no_module_imports_a_layer_above_it() -> None:
    upward = []
    for path in sorted((REPO / "app").rglob("*.py")):
        module = ".".join(path.relative_to(REPO).with_suffix("").parts).removesuffix(".__init__")
        for target in imports(path):
            if rank(target) > rank(module):
                upward.append(f"{module} ({rank(module)}) imports {target} ({rank(target)})")
    assert not upward, "\n".join(upward)


def test_the_rule_planner_and_the_llm_planners_share_only_the_language_module() -> None:
    llm = REPO / "app" / "services" / "storyboard" / "llm"
    crossing = [f"{p.name}: {t}" for p in llm.rglob("*.py") for t in imports(p) if ".storyboard.rules" in t]
    assert not crossing, crossing
