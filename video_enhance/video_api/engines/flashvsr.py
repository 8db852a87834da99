"""FlashVSR super-resolution from an OpenImagingLab/FlashVSR checkout, following ``examples/WanVSR/
infer_flashvsr_{tiny,full}.py`` (FlashVSR is not a CLI: its scripts hard-code inputs, so this wraps the pipeline).

Needs (checked by ``check()`` without importing torch): ``ENHANCE_FLASHVSR_DIR`` = the checkout (installed with
``pip install -e``, which provides ``diffsynth``), the weights in ``ENHANCE_FLASHVSR_WEIGHTS_DIR`` (default
``<checkout>/examples/WanVSR/FlashVSR``, a ``git lfs clone`` of huggingface.co/JunhaoZhuang/FlashVSR), the
Block-Sparse-Attention extension, and a CUDA GPU. The entry points used:

    mm = ModelManager(torch_dtype=torch.bfloat16, device="cpu"); mm.load_models([dmd_safetensors(, vae)])
    pipe = FlashVSRTinyPipeline.from_model_manager(mm, device="cuda")        # or FlashVSRFullPipeline
    pipe.denoising_model().LQ_proj_in = Buffer_LQ4x_Proj(3, 1536, 1)          # v1.1: Causal_LQ4x_Proj
    pipe.TCDecoder = build_tcdecoder(new_channels=[512, 256, 128, 128], new_latent_channels=16 + 768)  # tiny
    pipe.to("cuda"); pipe.enable_vram_management(num_persistent_param_in_dit=None); pipe.init_cross_kv()
    video = pipe(prompt="", negative_prompt="", cfg_scale=1.0, num_inference_steps=1, seed=0, LQ_video=lq,
                 num_frames=F, height=H, width=W, is_full_block=False, if_buffer=True,
                 topk_ratio=sparse_ratio * 768 * 1280 / (H * W), kv_ratio=3.0, local_range=11, color_fix=True)

``lq`` is the bicubic-upscaled input, [1, C, F, H, W] in [-1, 1] bf16, with F = 8n + 1 (the clip padded with 4
copies of its last frame, then truncated) and H, W multiples of 128. Unlike the upstream script, which
centre-crops to multiples of 128, the frame is *padded* (edge-replicated) and the result cropped back, so the
output is exactly ``scale`` times the input; its frames are mapped one to one onto the input's.
"""

from __future__ import annotations

import contextlib
import logging
import sys
from pathlib import Path
from typing import Any

from ..errors import EngineNotConfigured
from ..media import FrameWriter, VideoInfo, read_rgb_frames
from ..settings import Settings
from .base import require_modules

logger = logging.getLogger(__name__)
DMD = "diffusion_pytorch_model_streaming_dmd.safetensors"


def largest_8n1_leq(n: int) -> int:
    """The largest 8k+1 not above ``n`` (FlashVSR's frame-count rule); 0 below 1."""
    return 0 if n < 1 else (n - 1) // 8 * 8 + 1


def lq_frame_count(frames: int) -> int:
    """Frames fed to FlashVSR for a clip of ``frames``: padded by 4, truncated to 8n+1."""
    return largest_8n1_leq(frames + 4)


def padded_size(width: int, height: int, scale: int, multiple: int = 128) -> tuple[int, int, int, int]:
    """(scaled width, scaled height, padded width, padded height) for the LQ video."""
    sw, sh = width * scale, height * scale
    return sw, sh, -(-sw // multiple) * multiple, -(-sh // multiple) * multiple


def fit_frames(frames: list, count: int) -> list:
    """Exactly ``count`` frames: the first ones, the last repeated if there are too few."""
    return frames[:count] + frames[-1:] * max(0, count - len(frames))


class FlashVsrUpscaler:
    """Super-resolution x2 / x4 with FlashVSR (one-step diffusion; CUDA only)."""

    name, step, gpu = "flashvsr", "sr", True

    def __init__(self, settings: Settings):
        self.repo = settings.flashvsr_dir
        self.wan_dir = self.repo / "examples" / "WanVSR" if self.repo else None
        default = "FlashVSR" if settings.flashvsr_version == "1.0" else "FlashVSR-v1.1"
        self.weights = settings.flashvsr_weights_dir or (self.wan_dir / default if self.wan_dir else None)
        self.variant, self.version = settings.flashvsr_variant, settings.flashvsr_version
        self.sparse_ratio = settings.flashvsr_sparse_ratio
        self.pipe: Any = None
        self.torch: Any = None

    def weight_files(self) -> list[str]:
        return [DMD, "LQ_proj_in.ckpt", "TCDecoder.ckpt" if self.variant == "tiny" else "Wan2.1_VAE.pth"]

    def check(self) -> None:
        """Raise ``EngineNotConfigured`` saying what is missing (checkout, weights, packages)."""
        if self.repo is None:
            raise EngineNotConfigured("FlashVSR is not configured: set ENHANCE_FLASHVSR_DIR to an "
                                      "OpenImagingLab/FlashVSR checkout with its weights (deploy.sh --flashvsr)")
        if not (self.wan_dir / "utils").is_dir():
            raise EngineNotConfigured(f"FlashVSR is not configured: {self.wan_dir}/utils not found "
                                      "(ENHANCE_FLASHVSR_DIR must be the FlashVSR checkout)")
        missing = [f for f in self.weight_files() if not (self.weights / f).is_file()]
        if missing:
            raise EngineNotConfigured(f"FlashVSR is not configured: {', '.join(missing)} missing in {self.weights} "
                                      "(git lfs clone https://huggingface.co/JunhaoZhuang/FlashVSR there)")
        require_modules("FlashVSR", "torch", "numpy", "einops", "diffsynth", "block_sparse_attn")

    def load(self) -> None:
        """Build the pipeline as the upstream inference scripts do, from local weights only."""
        self.check()
        import torch

        if not torch.cuda.is_available():
            raise EngineNotConfigured("FlashVSR needs a CUDA GPU")
        sys.path[:0] = [str(self.wan_dir), str(self.repo)]
        from diffsynth import FlashVSRFullPipeline, FlashVSRTinyPipeline, ModelManager
        from utils.TCDecoder import build_tcdecoder
        from utils.utils import Buffer_LQ4x_Proj, Causal_LQ4x_Proj

        dtype, files = torch.bfloat16, {name: str(self.weights / name) for name in self.weight_files()}
        manager = ModelManager(torch_dtype=dtype, device="cpu")
        if self.variant == "tiny":
            manager.load_models([files[DMD]])
            pipe = FlashVSRTinyPipeline.from_model_manager(manager, device="cuda")
            pipe.TCDecoder = build_tcdecoder(new_channels=[512, 256, 128, 128], new_latent_channels=16 + 768)
            pipe.TCDecoder.load_state_dict(torch.load(files["TCDecoder.ckpt"], map_location="cpu"), strict=False)
        else:
            manager.load_models([files[DMD], files["Wan2.1_VAE.pth"]])
            pipe = FlashVSRFullPipeline.from_model_manager(manager, device="cuda")
            pipe.vae.model.encoder = None  # the full pipeline only decodes
            pipe.vae.model.conv1 = None
        projection = Buffer_LQ4x_Proj if self.version == "1.0" else Causal_LQ4x_Proj
        pipe.denoising_model().LQ_proj_in = projection(in_dim=3, out_dim=1536, layer_num=1).to("cuda", dtype=dtype)
        state = torch.load(files["LQ_proj_in.ckpt"], map_location="cpu")
        pipe.denoising_model().LQ_proj_in.load_state_dict(state, strict=True)
        pipe.to("cuda")
        pipe.enable_vram_management(num_persistent_param_in_dit=None)
        with contextlib.chdir(self.wan_dir):  # init_cross_kv reads prompt_tensor/ relative to examples/WanVSR
            pipe.init_cross_kv()
        pipe.load_models_to_device(["dit", "vae"])
        self.pipe, self.torch = pipe, torch
        logger.info("FlashVSR %s %s loaded from %s", self.version, self.variant, self.weights)


    def run(self, src: Path, dst: Path, *, factor: int, info: VideoInfo) -> None:
        """Upscale ``src`` by ``factor`` into ``dst`` (video only, same fps and frame count)."""
        frames = list(read_rgb_frames(src, info))
        count = lq_frame_count(len(frames))
        sw, sh, tw, th = padded_size(info.width, info.height, factor)
        lq = self._lq_video(fit_frames(frames, count), info, (sw, sh, tw, th))
        video = self.pipe(prompt="", negative_prompt="", cfg_scale=1.0, num_inference_steps=1, seed=0, LQ_video=lq,
                          num_frames=count, height=th, width=tw, is_full_block=False, if_buffer=True,
                          topk_ratio=self.sparse_ratio * 768 * 1280 / (th * tw), kv_ratio=3.0, local_range=11,
                          color_fix=True)
        out = ((video.float() + 1) * 127.5).clamp(0, 255).round().to(self.torch.uint8)  # C T H W
        out = out[:, :, :sh, :sw].permute(1, 2, 3, 0).contiguous().cpu().numpy()
        with FrameWriter(dst, width=sw, height=sh, fps=info.fps) as writer:
            for frame in fit_frames(list(out), len(frames)):
                writer.write(frame.tobytes())

    def _lq_video(self, frames: list[bytes], info: VideoInfo, sizes: tuple[int, int, int, int]) -> Any:
        """[1, C, F, H, W] bf16 in [-1, 1]: each frame bicubic-upscaled, then edge-padded to multiples of 128."""
        import numpy as np

        torch, functional = self.torch, self.torch.nn.functional
        sw, sh, tw, th = sizes
        lq = []
        for frame in frames:
            array = np.frombuffer(frame, dtype=np.uint8).reshape(info.height, info.width, 3)
            tensor = torch.from_numpy(array.copy()).permute(2, 0, 1).unsqueeze(0).to("cuda").float() / 255.0
            tensor = functional.interpolate(tensor, size=(sh, sw), mode="bicubic", align_corners=False)
            tensor = functional.pad(tensor, (0, tw - sw, 0, th - sh), mode="replicate")
            lq.append((tensor * 2.0 - 1.0).to(torch.bfloat16)[0])
        return torch.stack(lq, dim=1).unsqueeze(0)
