"""GPU check for HunyuanVideo-1.5 I2V: seconds per denoising step and peak GPU memory at 480p and 720p.

Builds the **full-size** HunyuanVideo-1.5 transformer (8.33 B parameters) with random bf16 weights
directly on the GPU — nothing is downloaded; the compute does not depend on the weight values —
and times transformer forwards on latents of a 121-frame video, with random prompt/image
embeddings of the real shapes fed straight in (the text and image encoders run once per video, the
transformer runs once per step per guidance branch, so it dominates). Each configuration (attention
backend, torch.compile) runs separately; an OOM or an unavailable backend is recorded, not fatal.

For a lent GPU machine, not CI. The machine needs torch (CUDA) and diffusers >= 0.36 (carry the
wheel; see HunyuanVideo-1.5/README.md "GPU check"):

    python3 bench/hunyuan_gpu.py --quick --json $OUT/hunyuan_gpu.json --out $OUT/benchmarks.md
    # back here: append that run to docs/benchmarks.md without touching other sections
    python bench/hunyuan_gpu.py --from-json <files_at>/hunyuan_gpu.json

``--tiny --device cpu`` runs the same code path on a tiny model (used by the unit test).
"""

from __future__ import annotations

import argparse
import gc
import importlib.util
import json
import platform
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import torch

SECTION = "## HunyuanVideo-1.5 on GPU"
DEFAULT_OUT = Path(__file__).resolve().parents[1] / "docs" / "benchmarks.md"

# The released HunyuanVideo-1.5 transformer (8.3 B parameters). Values: diffusers'
# HunyuanVideo15Transformer3DModel defaults, which mirror the 480p checkpoint's transformer/config.json
# (hunyuanvideo-community/HunyuanVideo-1.5-Diffusers-480p_i2v); 720p differs only in target_size
# (960: its 16:9 bucket is 1280x720 = 960^2 pixels). See shared/reference/providers.md §6 (diffusers
# classes, target_size 640 for 480p, 121 frames) and the model card. The parameter count this yields
# (8,326,608,160) is checked by tests/test_hunyuan_gpu_bench.py on the meta device.
FULL_CONFIG: dict = {
    "in_channels": 65,  # 32 noisy latent + 32 image-condition latent + 1 mask channel
    "out_channels": 32,
    "num_attention_heads": 16,
    "attention_head_dim": 128,  # hidden size 2048
    "num_layers": 54,
    "num_refiner_layers": 2,
    "mlp_ratio": 4.0,
    "patch_size": 1,
    "patch_size_t": 1,
    "qk_norm": "rms_norm",
    "text_embed_dim": 3584,  # Qwen2.5-VL-7B hidden size
    "text_embed_2_dim": 1472,  # ByT5 (glyph) encoder d_model
    "image_embed_dim": 1152,  # SigLIP vision hidden size
    "rope_theta": 256.0,
    "rope_axes_dim": (16, 56, 56),
    "task_type": "i2v",
    "use_meanflow": False,
}
TARGET_SIZE = {"480p": 640, "720p": 960}
VAE = {"latent_channels": 32, "spatial": 16, "temporal": 4}
TEXT = {"mllm_len": 1000, "byt5_len": 256, "image_tokens": 729}  # padded lengths the pipeline uses

TINY_CONFIG: dict = {
    "in_channels": 9, "out_channels": 4, "num_attention_heads": 2, "attention_head_dim": 8, "num_layers": 1,
    "num_refiner_layers": 1, "mlp_ratio": 2.0, "patch_size": 1, "patch_size_t": 1, "text_embed_dim": 16,
    "text_embed_2_dim": 32, "image_embed_dim": 12, "rope_axes_dim": (2, 2, 4), "task_type": "i2v",
}
TINY_TARGET = {"480p": 32, "720p": 48}
TINY_VAE = {"latent_channels": 4, "spatial": 4, "temporal": 4}
TINY_TEXT = {"mllm_len": 16, "byt5_len": 8, "image_tokens": 4}


# --------------------------------------------------------------------------------------------------
# Shapes and configs (pure; tested on CPU)
# --------------------------------------------------------------------------------------------------


def transformer_config(resolution: str, *, tiny: bool = False) -> dict:
    """The transformer config for a resolution ("480p" or "720p")."""
    base, targets = (TINY_CONFIG, TINY_TARGET) if tiny else (FULL_CONFIG, TARGET_SIZE)
    return {**base, "target_size": targets[resolution]}


def bucket_size(target_size: int, spatial: int, aspect: tuple[int, int] = (16, 9)) -> tuple[int, int]:
    """(height, width) the pipeline picks for a ``aspect`` (w:h) image, via diffusers' own bucket code."""
    from diffusers.pipelines.hunyuan_video1_5.image_processor import HunyuanVideo15ImageProcessor

    processor = HunyuanVideo15ImageProcessor(vae_scale_factor=spatial)
    height, width = processor.calculate_default_height_width(height=aspect[1] * 80, width=aspect[0] * 80,
                                                             target_size=target_size)
    return int(height), int(width)


@dataclass(frozen=True)
class Shapes:
    """Latent and token counts of one transformer forward."""

    resolution: str
    height: int
    width: int
    frames: int
    latent: tuple[int, int, int, int]  # (C_in, T, H, W) fed to the transformer
    video_tokens: int
    text_tokens: int  # padded context tokens (image + ByT5 + MLLM)

    @property
    def total_tokens(self) -> int:
        return self.video_tokens + self.text_tokens


def shapes_for(resolution: str, frames: int, *, tiny: bool = False) -> Shapes:
    """Shapes of a ``frames``-frame 16:9 video at ``resolution``."""
    vae, text, cfg = (TINY_VAE, TINY_TEXT, transformer_config(resolution, tiny=True)) if tiny else (
        VAE, TEXT, transformer_config(resolution))
    if (frames - 1) % vae["temporal"]:
        raise ValueError(f"frames must be {vae['temporal']}k+1, got {frames}")
    height, width = bucket_size(cfg["target_size"], vae["spatial"])
    t, h, w = (frames - 1) // vae["temporal"] + 1, height // vae["spatial"], width // vae["spatial"]
    return Shapes(resolution=resolution, height=height, width=width, frames=frames,
                  latent=(cfg["in_channels"], t, h, w), video_tokens=t * h * w,
                  text_tokens=text["mllm_len"] + text["byt5_len"] + text["image_tokens"])


def count_parameters(config: dict) -> int:
    """Parameters of the transformer built on the meta device (no memory is allocated)."""
    model = build_transformer(config, device="meta", dtype=torch.bfloat16)
    return sum(p.numel() for p in model.parameters())


# --------------------------------------------------------------------------------------------------
# Model and inputs
# --------------------------------------------------------------------------------------------------


def build_transformer(config: dict, *, device: str, dtype: torch.dtype):
    """Build ``HunyuanVideo15Transformer3DModel`` straight on ``device`` in ``dtype`` (random weights)."""
    from diffusers import HunyuanVideo15Transformer3DModel

    previous = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        with torch.device(device):
            model = HunyuanVideo15Transformer3DModel(**config)
    finally:
        torch.set_default_dtype(previous)
    return model.eval().requires_grad_(False)


def make_inputs(shapes: Shapes, config: dict, *, device: str, dtype: torch.dtype, tiny: bool) -> dict:
    """Random latents and embeddings of the real shapes; masks mark a typical prompt's valid tokens."""
    text = TINY_TEXT if tiny else TEXT
    gen = torch.Generator(device="cpu").manual_seed(0)

    def randn(*shape: int) -> torch.Tensor:
        return torch.randn(*shape, generator=gen, dtype=torch.float32).to(device=device, dtype=dtype)

    mask = torch.zeros(1, text["mllm_len"], device=device, dtype=dtype)
    mask[:, : max(1, text["mllm_len"] // 5)] = 1  # ~200 valid prompt tokens out of 1000
    mask_2 = torch.zeros(1, text["byt5_len"], device=device, dtype=dtype)
    mask_2[:, : max(1, text["byt5_len"] // 8)] = 1  # a short quoted text
    return {
        "hidden_states": randn(1, *shapes.latent),
        "timestep": torch.tensor([900.0], device=device, dtype=dtype),
        "encoder_hidden_states": randn(1, text["mllm_len"], config["text_embed_dim"]),
        "encoder_attention_mask": mask,
        "encoder_hidden_states_2": randn(1, text["byt5_len"], config["text_embed_2_dim"]),
        "encoder_attention_mask_2": mask_2,
        "image_embeds": randn(1, text["image_tokens"], config["image_embed_dim"]),
        "return_dict": False,
    }


# --------------------------------------------------------------------------------------------------
# Configurations
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RunConfig:
    """One speed-option combination."""

    name: str
    backend: str  # diffusers attention backend name
    compile: bool = False
    requires: str | None = None  # a module that must be importable


ALL_CONFIGS = [
    RunConfig("sdpa (default)", "native"),
    RunConfig("sdpa cuDNN", "_native_cudnn"),
    RunConfig("sdpa mem-efficient", "_native_efficient"),
    RunConfig("flash-attn 2 varlen", "flash_varlen", requires="flash_attn"),
    RunConfig("flash-attn 3 varlen", "_flash_varlen_3", requires="flash_attn_interface"),
    RunConfig("sage varlen", "sage_varlen", requires="sageattention"),
    RunConfig("sdpa + torch.compile", "native", compile=True),
    RunConfig("sdpa cuDNN + torch.compile", "_native_cudnn", compile=True),
]
QUICK_CONFIGS = ["sdpa (default)", "sdpa cuDNN", "flash-attn 3 varlen", "flash-attn 2 varlen", "sdpa + torch.compile"]


def pick_configs(quick: bool, names: list[str] | None) -> list[RunConfig]:
    """The configurations to run: named ones, the quick set, or all; eager ones before compiled ones."""
    wanted = names or (QUICK_CONFIGS if quick else [c.name for c in ALL_CONFIGS])
    unknown = set(wanted) - {c.name for c in ALL_CONFIGS}
    if unknown:
        raise SystemExit(f"unknown configs {sorted(unknown)}; choose from {[c.name for c in ALL_CONFIGS]}")
    chosen = [c for c in ALL_CONFIGS if c.name in wanted]
    return sorted(chosen, key=lambda c: c.compile)


@dataclass
class Result:
    """One row of the table."""

    resolution: str
    config: str
    size: str
    tokens: int
    status: str = "ok"  # ok | OOM | unavailable | error: ... | skipped: ...
    s_per_forward: float | None = None
    s_per_forward_all: list[float] = field(default_factory=list)
    first_forward_s: float | None = None  # warm-up, includes compilation
    peak_gib: float | None = None


# --------------------------------------------------------------------------------------------------
# Timing
# --------------------------------------------------------------------------------------------------


def sync(device: str) -> None:
    """Wait for queued GPU work."""
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def free_memory(device: str) -> None:
    """Collect garbage and return cached blocks, after a configuration (or an OOM)."""
    gc.collect()
    if device.startswith("cuda"):
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()


def set_compiled(model, enabled: bool) -> None:
    """Compile the repeated blocks (diffusers' regional compilation) or return them to eager."""
    if enabled:
        model.compile_repeated_blocks(fullgraph=True)
        return
    for module in model.modules():
        if getattr(module, "_compiled_call_impl", None) is not None:
            module._compiled_call_impl = None
    torch._dynamo.reset()


def timed_forwards(model, inputs: dict, *, device: str, warmup: int, repeats: int) -> tuple[float, list[float]]:
    """Run ``warmup`` + ``repeats`` forwards; return the first forward's time and the timed ones."""
    times = []
    first = None
    with torch.inference_mode():
        for i in range(warmup + repeats):
            sync(device)
            start = time.perf_counter()
            out = model(**inputs)[0]
            sync(device)
            elapsed = time.perf_counter() - start
            del out
            if i == 0:
                first = elapsed
            if i >= warmup:
                times.append(elapsed)
    return first, times


def run_config(model, cfg: RunConfig, inputs: dict, result: Result, *, device: str, warmup: int,
               repeats: int) -> Result:
    """Time one configuration; OOM, a missing package or a refusing backend becomes the row's status."""
    if cfg.requires and importlib.util.find_spec(cfg.requires) is None:
        result.status = f"unavailable ({cfg.requires} not installed)"
        return result
    free_memory(device)
    try:
        model.set_attention_backend(cfg.backend)
        set_compiled(model, cfg.compile)
        first, times = timed_forwards(model, inputs, device=device, warmup=warmup, repeats=repeats)
    except torch.OutOfMemoryError:
        result.status = "OOM"
    except Exception as exc:  # a backend that refuses this mask/shape/dtype, a compile failure, ...
        result.status = f"error: {type(exc).__name__}: {str(exc).splitlines()[0][:160] if str(exc) else ''}"
    else:
        result.first_forward_s = round(first, 3)
        result.s_per_forward_all = [round(t, 3) for t in times]
        result.s_per_forward = round(sum(times) / len(times), 3)
    if device.startswith("cuda"):
        result.peak_gib = round(torch.cuda.max_memory_allocated() / 2**30, 2)
    if cfg.compile:
        set_compiled(model, False)
    free_memory(device)
    return result


def log(message: str) -> None:
    """Progress on stdout, flushed."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)  # noqa: T201


COMPILE_ESTIMATE_S = 120.0  # extra time a compiled configuration may need (regional compile of 3 block types)


def estimate_s(cfg: RunConfig, last_s_per_forward: float | None, args) -> float:
    """Rough duration of a configuration, from the last measured forward at this resolution."""
    per = last_s_per_forward or 0.0
    return per * (args.warmup + args.repeats) + (COMPILE_ESTIMATE_S if cfg.compile else 0.0)


def run_resolution(model, config: dict, resolution: str, configs: list[RunConfig], args,
                   out_of_time: Callable[[float], bool], on_result: Callable[[Result], None]) -> None:
    """All configurations at one resolution; one that would not end within the time budget is skipped."""
    dtype = torch.float32 if args.tiny else torch.bfloat16
    shapes = shapes_for(resolution, args.frames, tiny=args.tiny)
    size = f"{shapes.width}x{shapes.height}x{shapes.frames}f"
    log(f"{resolution}: {size}, latent {shapes.latent}, {shapes.video_tokens} video + {shapes.text_tokens} "
        f"context tokens")
    inputs = make_inputs(shapes, config, device=args.device, dtype=dtype, tiny=args.tiny)
    last = None
    for cfg in configs:
        result = Result(resolution=resolution, config=cfg.name, size=size, tokens=shapes.total_tokens)
        if out_of_time(estimate_s(cfg, last, args)):
            result.status = "skipped: time budget"
        else:
            log(f"  {cfg.name} ...")
            run_config(model, cfg, inputs, result, device=args.device, warmup=args.warmup, repeats=args.repeats)
            last = result.s_per_forward or last
        log(f"  {cfg.name}: {result.status} s/forward={result.s_per_forward} first={result.first_forward_s} "
            f"peak={result.peak_gib} GiB")
        on_result(result)
    del inputs
    free_memory(args.device)


# --------------------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------------------


def environment(device: str, params: int, dtype: torch.dtype) -> dict:
    """What ran: GPU, versions, parameter count."""
    import diffusers

    gpu = torch.cuda.get_device_name() if device.startswith("cuda") else platform.processor() or "cpu"
    total = round(torch.cuda.get_device_properties(0).total_memory / 2**30, 1) if device.startswith("cuda") else None
    return {"date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"), "gpu": gpu, "gpu_total_gib": total,
            "torch": torch.__version__, "diffusers": diffusers.__version__, "python": platform.python_version(),
            "parameters": params, "dtype": str(dtype).removeprefix("torch.")}


def fmt(value: float | None, digits: int = 2) -> str:
    """A number or a dash."""
    return "–" if value is None else f"{value:.{digits}f}"


def render_run(env: dict, results: list[Result], command: str) -> str:
    """One run as a markdown block: heading, environment, table, how to read it."""
    lines = [
        f"### {env['date']} — {env['gpu']} ({fmt(env['gpu_total_gib'], 0)} GiB), torch {env['torch']}, "
        f"diffusers {env['diffusers']}",
        "",
        f"Transformer: {env['parameters']:,} parameters, random {env.get('dtype', 'bfloat16')} weights. "
        f"Command: `{command}`.",
        "",
        "| res | size | tokens | config | s/forward | s/step CFG (2 fwd) | 50 steps CFG | 8 steps distilled "
        "| first fwd s | peak GiB | status |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        per = r.s_per_forward
        lines.append(
            f"| {r.resolution} | {r.size} | {r.tokens:,} | {r.config} | {fmt(per)} | "
            f"{fmt(per * 2 if per else None)} | {fmt(per * 100 / 60 if per else None, 1)} min | "
            f"{fmt(per * 8 if per else None, 1)} s | {fmt(r.first_forward_s)} | {fmt(r.peak_gib)} | "
            f"{r.status.replace('|', '/')} |")
    lines += [
        "",
        "s/forward is one transformer pass over the whole latent video (batch 1). With classifier-free guidance "
        "(cfg 6, the 50-step checkpoints) the pipeline makes two passes per step; the step-distilled 480p "
        "checkpoint runs 8–12 steps with one pass. Text/image encoding (once per video) and VAE decoding are "
        "not included. Peak GiB is `torch.cuda.max_memory_allocated()` during that configuration, weights "
        "included.",
        "",
    ]
    return "\n".join(lines)


def append_to_section(path: Path, block: str) -> None:
    """Add ``block`` at the end of this script's section, creating the section (at the file's end) if needed.

    Other sections of the file are left byte-for-byte as they are.
    """
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    if SECTION not in text:
        intro = ("Timings of the HunyuanVideo-1.5 I2V transformer with random weights, by "
                 "`bench/hunyuan_gpu.py` on a lent GPU machine.")
        text = text.rstrip("\n") + f"\n\n{SECTION}\n\n{intro}\n\n"
    start = text.index(SECTION) + len(SECTION)
    nxt = text.find("\n## ", start)
    end = len(text) if nxt == -1 else nxt + 1
    body = text[:end].rstrip("\n") + "\n\n" + block.rstrip("\n") + "\n"
    rest = text[end:]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(body + ("\n" + rest if rest else ""))


# --------------------------------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer configs, 1 warm-up + 1 timed forward")
    parser.add_argument("--resolutions", default="480p,720p")
    parser.add_argument("--configs", default="", help="comma-separated config names (default: quick or all)")
    parser.add_argument("--frames", type=int, default=121)
    parser.add_argument("--warmup", type=int, default=None, help="untimed forwards per config (default 1)")
    parser.add_argument("--repeats", type=int, default=None, help="timed forwards per config (1 quick, 3 full)")
    parser.add_argument("--time-budget-s", type=float, default=None,
                        help="skip configs that would end after this many seconds (450 with --quick)")
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--tiny", action="store_true", help="tiny model (CPU smoke test of this script)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="markdown file to append the run to")
    parser.add_argument("--json", type=Path, default=None, help="also write the raw results here")
    parser.add_argument("--from-json", type=Path, default=None, help="only render a saved --json into --out")
    args = parser.parse_args(argv)
    args.warmup = 1 if args.warmup is None else args.warmup
    args.repeats = args.repeats or (1 if args.quick else 3)
    args.time_budget_s = args.time_budget_s or (450.0 if args.quick else 1e9)
    return args


def write_json(args: argparse.Namespace, env: dict, results: list[Result], command: str) -> None:
    """Dump the raw results (after every configuration, so a run cut short still leaves its rows)."""
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"env": env, "command": command,
                                         "results": [asdict(r) for r in results]}, indent=1))


def write_outputs(args: argparse.Namespace, env: dict, results: list[Result], command: str) -> None:
    """Append the markdown block and, if asked, dump the JSON."""
    write_json(args, env, results, command)
    if args.json:
        log(f"wrote {args.json}")
    append_to_section(args.out, render_run(env, results, command))
    log(f"appended to {args.out} ({SECTION!r})")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.from_json:
        saved = json.loads(args.from_json.read_text())
        results = [Result(**r) for r in saved["results"]]
        append_to_section(args.out, render_run(saved["env"], results, saved["command"]))
        log(f"appended {len(results)} rows to {args.out}")
        return 0
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        log("no CUDA device: use --tiny --device cpu for a smoke test")
        return 2
    command = "python3 bench/hunyuan_gpu.py " + " ".join(sys.argv[1:] if argv is None else argv)
    started = time.monotonic()
    resolutions = [r.strip() for r in args.resolutions.split(",") if r.strip()]
    configs = pick_configs(args.quick, [c.strip() for c in args.configs.split(",") if c.strip()] or None)
    dtype = torch.float32 if args.tiny else torch.bfloat16
    base = transformer_config(resolutions[0], tiny=args.tiny)
    log(f"building the {'tiny' if args.tiny else 'full-size'} transformer on {args.device} ({dtype})")
    model = build_transformer(base, device=args.device, dtype=dtype)
    params = sum(p.numel() for p in model.parameters())
    log(f"{params:,} parameters; built in {time.monotonic() - started:.1f}s")
    env, results = environment(args.device, params, dtype), []

    def keep(result: Result) -> None:
        results.append(result)
        write_json(args, env, results, command)

    for resolution in resolutions:  # target_size only steers the pipeline's bucket; the weights are shared
        run_resolution(model, base, resolution, configs, args,
                       lambda need_s: time.monotonic() - started + need_s > args.time_budget_s, keep)
    write_outputs(args, env, results, command)
    log(f"done in {time.monotonic() - started:.0f}s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
