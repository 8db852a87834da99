"""ComfyUI workflow templates: API-format graphs kept as JSON files, with marked nodes, patched purely.

A template is what ComfyUI's "Export (API)" writes: `{node_id: {"class_type", "inputs", "_meta"}}`,
links written as `[source_node_id, output_index]`. The nodes we fill in carry marks in their
`_meta.title` — words starting with `@`, several allowed ("@size @frames"):

| mark        | inputs set                          | value                               |
|-------------|-------------------------------------|-------------------------------------|
| `@prompt`   | text                                | the positive prompt                 |
| `@negative` | text                                | the negative prompt                 |
| `@seed`     | seed / noise_seed                   | the shot's seed (0 … 2^64-1)        |
| `@size`     | width, height                       | the render size                     |
| `@image`    | image                               | the uploaded start image's name     |
| `@frames`   | length / frames / num_frames        | the frame count                     |
| `@fps`      | fps / frame_rate                    | read only: the model's native rate  |
| `@output`   | —                                   | the node whose files are fetched    |

Every literal `batch_size` is forced to 1 (the upstream rendered two images and used one).
"""

from __future__ import annotations

import copy
import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.core.errors import WorkflowError

TEMPLATES_DIR = Path(__file__).parent / "templates"

Graph = dict[str, dict[str, Any]]

#: Which inputs each mark sets; a marked node must have at least one of them.
MARK_INPUTS: dict[str, tuple[str, ...]] = {
    "@prompt": ("text",),
    "@negative": ("text",),
    "@seed": ("seed", "noise_seed"),
    "@size": ("width", "height"),
    "@image": ("image",),
    "@frames": ("length", "frames", "num_frames", "video_frames"),
    "@fps": ("fps", "frame_rate"),
    "@output": (),
}
#: Marks a keyframe template must have, and those an image-to-video template must have.
IMAGE_MARKS = ("@prompt", "@seed", "@size", "@output")
VIDEO_MARKS = ("@prompt", "@seed", "@size", "@image", "@frames", "@output")

MAX_SEED = 2**64 - 1


@dataclass(frozen=True)
class Workflow:
    """A loaded, validated template: its graph and where its marks are."""

    name: str
    graph: Graph
    marks: dict[str, tuple[str, ...]]

    def nodes(self, mark: str) -> tuple[str, ...]:
        return self.marks.get(mark, ())

    @property
    def output_node(self) -> str:
        return self.nodes("@output")[0]

    @property
    def native_size(self) -> tuple[int, int]:
        """The width × height the template was made for (its first `@size` node's values)."""
        inputs = self.graph[self.nodes("@size")[0]]["inputs"]
        return int(inputs["width"]), int(inputs["height"])

    @property
    def native_fps(self) -> int | None:
        """The frame rate the template writes (its `@fps` node), if it says."""
        for node_id in self.nodes("@fps"):
            inputs = self.graph[node_id]["inputs"]
            for name in MARK_INPUTS["@fps"]:
                value = inputs.get(name)
                if isinstance(value, int | float):
                    return round(value)
        return None


@dataclass(frozen=True)
class Values:
    """What a job fills into a template; None leaves the template's own value."""

    prompt: str
    seed: int
    width: int
    height: int
    negative: str | None = None
    image: str | None = None
    frames: int | None = None


def load_workflow(spec: str, required: Iterable[str] = IMAGE_MARKS) -> Workflow:
    """Load a template by name (a file in templates/, without `.json`) or by path to a `.json` file."""
    path = Path(spec) if spec.endswith(".json") else TEMPLATES_DIR / f"{spec}.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        known = ", ".join(sorted(p.stem for p in TEMPLATES_DIR.glob("*.json")))
        raise WorkflowError(f"workflow template {spec!r} not found (built in: {known})") from exc
    except json.JSONDecodeError as exc:
        raise WorkflowError(f"workflow template {spec!r} is not JSON: {exc}") from exc
    return parse_workflow(path.stem, data, required)


def parse_workflow(name: str, data: Any, required: Iterable[str] = IMAGE_MARKS) -> Workflow:
    """Validate an API-format graph and find its marks; raise WorkflowError naming every problem."""
    problems = graph_problems(data)
    if problems:
        raise WorkflowError(f"workflow {name}: " + "; ".join(problems))
    marks = find_marks(data)
    problems = [f"no node is marked {mark}" for mark in required if mark not in marks]
    for mark, node_ids in marks.items():
        wanted = MARK_INPUTS.get(mark)
        if wanted is None:
            problems.append(f"node {node_ids[0]} has unknown mark {mark}")
            continue
        problems += [f"node {n} is marked {mark} but has none of the inputs {', '.join(wanted)}"
                     for n in node_ids if wanted and not set(wanted) & set(data[n]["inputs"])]
    if "@size" in marks and not {"width", "height"} <= set(data[marks["@size"][0]]["inputs"]):
        problems.append(f"node {marks['@size'][0]} is marked @size but lacks width or height")
    if problems:
        raise WorkflowError(f"workflow {name}: " + "; ".join(problems))
    return Workflow(name=name, graph=data, marks=marks)


def graph_problems(graph: Any) -> list[str]:
    """Why `graph` is not a valid API-format graph (empty when it is)."""
    if not isinstance(graph, dict) or not graph:
        return ["not an object of nodes"]
    problems = []
    for node_id, node in graph.items():
        if not isinstance(node, dict) or not isinstance(node.get("class_type"), str):
            problems.append(f"node {node_id} has no class_type")
            continue
        if not isinstance(node.get("inputs"), dict):
            problems.append(f"node {node_id} has no inputs")
            continue
        for name, value in node["inputs"].items():
            if is_link(value) and value[0] not in graph:
                problems.append(f"node {node_id} input {name} links to missing node {value[0]}")
    return problems


def is_link(value: Any) -> bool:
    """Whether an input value is a link `[source_node_id, output_index]`."""
    return (isinstance(value, list) and len(value) == 2 and isinstance(value[0], str)
            and isinstance(value[1], int) and not isinstance(value[1], bool))


def node_marks(node: Mapping[str, Any]) -> set[str]:
    """The `@` words of a node's `_meta.title`."""
    title = (node.get("_meta") or {}).get("title") or ""
    return {word for word in str(title).split() if word.startswith("@")}


def find_marks(graph: Graph) -> dict[str, tuple[str, ...]]:
    """Mark → the ids of the nodes carrying it, in graph order."""
    found: dict[str, list[str]] = {}
    for node_id, node in graph.items():
        for mark in sorted(node_marks(node)):
            found.setdefault(mark, []).append(node_id)
    return {mark: tuple(ids) for mark, ids in found.items()}


def patch(workflow: Workflow, values: Values) -> Graph:
    """A new graph: `workflow` with `values` filled into its marked nodes and every batch_size 1."""
    graph = copy.deepcopy(workflow.graph)
    fill: dict[str, Mapping[str, Any] | None] = {
        "@prompt": {"text": values.prompt},
        "@negative": None if values.negative is None else {"text": values.negative},
        "@seed": {"seed": values.seed % (MAX_SEED + 1), "noise_seed": values.seed % (MAX_SEED + 1)},
        "@size": {"width": values.width, "height": values.height},
        "@image": None if values.image is None else {"image": values.image},
        "@frames": None if values.frames is None else dict.fromkeys(MARK_INPUTS["@frames"], values.frames),
    }
    for mark, inputs in fill.items():
        if not inputs:
            continue
        for node_id in workflow.nodes(mark):
            set_present(graph[node_id]["inputs"], inputs)
    return single_batch(graph)


def set_present(inputs: dict[str, Any], values: Mapping[str, Any]) -> None:
    """Set those of `values` that the node already has as inputs (never add new ones)."""
    for name, value in values.items():
        if name in inputs:
            inputs[name] = value


def single_batch(graph: Graph) -> Graph:
    """Force every literal `batch_size` input to 1 (in place; returns the graph)."""
    for node in graph.values():
        if "batch_size" in node["inputs"] and not is_link(node["inputs"]["batch_size"]):
            node["inputs"]["batch_size"] = 1
    return graph


def fit_size(width: int, height: int, *, area: int, multiple: int = 16) -> tuple[int, int]:
    """The render size with the aspect ratio of width × height and about `area` pixels, each side a
    multiple of `multiple` (latent models need it); the caller resizes/crops to the exact size."""
    if width <= 0 or height <= 0 or area <= 0:
        raise ValueError(f"need a positive size and area, got {width}x{height}, {area}")
    scale = math.sqrt(area / (width * height))
    return (max(multiple, round(width * scale / multiple) * multiple),
            max(multiple, round(height * scale / multiple) * multiple))


def frame_count(duration: float, fps: int, *, max_frames: int, step: int = 4) -> int:
    """Frames to generate for `duration` seconds at `fps`: the smallest step·k+1 count that covers it,
    capped at the largest step·k+1 ≤ max_frames (a shorter clip then holds its last frame)."""
    wanted = max(1, math.ceil(duration * fps - 1e-9))
    frames = step * math.ceil((wanted - 1) / step) + 1
    cap = step * ((max(max_frames, 1) - 1) // step) + 1
    return min(frames, cap)
