"""RIFE frame interpolation from a hzwer/Practical-RIFE checkout, following its ``inference_video.py``.

Needs (checked by ``check()`` without importing torch): ``ENHANCE_RIFE_DIR`` = the checkout, and the unpacked
weights in ``ENHANCE_RIFE_MODEL_DIR`` (default ``<checkout>/train_log``: ``RIFE_HDv3.py``, ``IFNet_HDv3.py``,
``flownet.pkl``; v4.25 recommended, downloaded by hand from the Practical-RIFE README's Google Drive link), and
torch + numpy in this environment. The entry points used, as in ``inference_video.py``:

    from train_log.RIFE_HDv3 import Model
    model = Model(); model.load_model(model_dir, -1); model.eval(); model.device()
    model.inference(img0, img1, timestep, scale)   # version >= 3.9: any timestep
    model.inference(img0, img1, scale)             # older models: the midpoint only (recursed for 4x)

``img0``/``img1`` are float [1, 3, H, W] tensors in [0, 1], padded to a multiple of ``max(128, 128 / scale)``.
Frames are decoded and encoded by FFmpeg pipes (no OpenCV, no audio); the pipeline muxes the original audio back.
There is no scene-cut detection: a generated clip is one shot.
"""

from __future__ import annotations

import importlib
import logging
import sys
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from ..errors import EngineNotConfigured
from ..media import FrameWriter, VideoInfo, read_rgb_frames
from ..settings import Settings
from .base import require_modules

logger = logging.getLogger(__name__)
T = TypeVar("T")
RIFE_SCALES = (0.25, 0.5, 1.0, 2.0, 4.0)
WEIGHT_FILES = ("RIFE_HDv3.py", "IFNet_HDv3.py", "flownet.pkl")


def interpolate_sequence(frames: Iterable[T], multi: int, middles: Callable[[T, T, int], list[T]]) -> Iterator[T]:
    """Each frame, then ``multi - 1`` in-betweens towards the next; the last frame ``multi`` times, so N frames
    at ``fps`` become exactly ``N * multi`` frames at ``fps * multi`` (the same duration)."""
    previous: T | None = None
    for frame in frames:
        if previous is not None:
            yield previous
            yield from middles(previous, frame, multi - 1)
        previous = frame
    if previous is not None:
        yield from [previous] * multi


def pad_multiple(scale: float) -> int:
    """RIFE's padding granularity for a ``--scale`` (``tmp`` in inference_video.py)."""
    return max(128, int(128 / scale))


class RifeInterpolator:
    """Frame interpolation x2 / x4 with a Practical-RIFE model (GPU when available)."""

    name, step, gpu = "rife", "interp", True

    def __init__(self, settings: Settings):
        self.repo = settings.rife_dir
        self.model_dir = settings.rife_model_dir or (self.repo / "train_log" if self.repo else None)
        self.fp16, self.scale = settings.rife_fp16, settings.rife_scale
        self.model: Any = None
        self.torch: Any = None

    def check(self) -> None:
        """Raise ``EngineNotConfigured`` saying what is missing (checkout, weights, packages)."""
        if self.repo is None:
            raise EngineNotConfigured("RIFE is not configured: set ENHANCE_RIFE_DIR to a hzwer/Practical-RIFE "
                                      "checkout with its weights in train_log/ (deploy.sh --rife)")
        if not self.repo.is_dir():
            raise EngineNotConfigured(f"RIFE is not configured: ENHANCE_RIFE_DIR={self.repo} does not exist")
        missing = [f for f in WEIGHT_FILES if not (self.model_dir / f).is_file()]
        if missing:
            raise EngineNotConfigured(f"RIFE is not configured: {', '.join(missing)} missing in {self.model_dir}; "
                                      "unpack the RIFE weights there (v4.25, Practical-RIFE README)")
        if self.scale not in RIFE_SCALES:
            raise EngineNotConfigured(f"ENHANCE_RIFE_SCALE must be one of {RIFE_SCALES}")
        require_modules("RIFE", "torch", "numpy")

    def load(self) -> None:
        """Import the model class from the weights folder and load ``flownet.pkl``."""
        self.check()
        import torch

        for path in (str(self.repo), str(self.model_dir.parent)):
            if path not in sys.path:
                sys.path.insert(0, path)
        model = importlib.import_module(f"{self.model_dir.name}.RIFE_HDv3").Model()
        if not hasattr(model, "version"):
            model.version = 0
        torch.set_grad_enabled(False)
        model.load_model(str(self.model_dir), -1)
        model.eval()
        model.device()
        if self.fp16 and torch.cuda.is_available():
            model.flownet.half()
        self.model, self.torch = model, torch
        logger.info("RIFE %s loaded from %s", getattr(model, "version", "?"), self.model_dir)


    def run(self, src: Path, dst: Path, *, factor: int, info: VideoInfo) -> None:
        """Interpolate ``src`` by ``factor`` into ``dst`` (video only, at ``fps * factor``)."""
        frames = (self._to_tensor(f, info) for f in read_rgb_frames(src, info))
        with FrameWriter(dst, width=info.width, height=info.height, fps=info.fps * factor) as writer:
            for tensor in interpolate_sequence(frames, factor, self._middles):
                writer.write(self._to_bytes(tensor, info))

    def _middles(self, img0: Any, img1: Any, n: int) -> list[Any]:
        if self.model.version >= 3.9:
            return [self.model.inference(img0, img1, (i + 1) / (n + 1), self.scale) for i in range(n)]
        middle = self.model.inference(img0, img1, self.scale)  # older models: midpoints only, recursed
        if n == 1:
            return [middle]
        return [*self._middles(img0, middle, n // 2), middle, *self._middles(middle, img1, n // 2)]

    def _to_tensor(self, frame: bytes, info: VideoInfo) -> Any:
        import numpy as np

        torch = self.torch
        device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
        array = np.frombuffer(frame, dtype=np.uint8).reshape(info.height, info.width, 3)
        tensor = torch.from_numpy(array.copy()).permute(2, 0, 1).unsqueeze(0).to(device).float() / 255.0
        step = pad_multiple(self.scale)
        pad_h, pad_w = -info.height % step, -info.width % step
        tensor = torch.nn.functional.pad(tensor, (0, pad_w, 0, pad_h))
        return tensor.half() if self.fp16 and device.type == "cuda" else tensor

    def _to_bytes(self, tensor: Any, info: VideoInfo) -> bytes:
        image = tensor[0, :, : info.height, : info.width].float().clamp(0, 1).mul(255).round().byte()
        return image.permute(1, 2, 0).contiguous().cpu().numpy().tobytes()
