"""deploy.sh: --dry-run prints the plan for every requested component and changes nothing."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.server import REPO

DEPLOY = REPO / "deploy.sh"
ALL_FLAGS = ["--ollama", "qwen3:8b", "--comfyui", "--cosyvoice", "--hunyuan", "720p", "--rife", "--flashvsr"]


def snapshot(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*")} if folder.exists() else set()


def git_status() -> str:
    return subprocess.run(["git", "status", "--porcelain", "--ignored"], cwd=REPO, capture_output=True, text=True,
                          check=True).stdout


def dry_run(tmp_path: Path, *flags: str) -> subprocess.CompletedProcess:
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    env = {**os.environ, "HOME": str(home), "STORY2VIDEO_HOME": str(tmp_path / "prefix")}
    return subprocess.run([str(DEPLOY), "--dry-run", *flags], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=60)


def test_dry_run_plans_every_requested_component_and_changes_nothing(tmp_path: Path) -> None:
    before = git_status()
    done = dry_run(tmp_path, *ALL_FLAGS)
    assert done.returncode == 0, done.stderr
    plan = done.stdout
    prefix = tmp_path / "prefix"
    for expected in [
        "System packages", f"{REPO}/.venv", f"-r {REPO}/requirements.txt",
        "== Ollama + qwen3:8b", "ollama pull qwen3:8b",
        "== ComfyUI", "https://github.com/comfyanonymous/ComfyUI",
        f"Qwen-Image_ComfyUI/resolve/main/split_files/diffusion_models/qwen_image_fp8_e4m3fn.safetensors -> "
        f"{prefix}/ComfyUI/models/diffusion_models/qwen_image_fp8_e4m3fn.safetensors",
        "hunyuanvideo1.5_720p_i2v_fp16.safetensors", "sigclip_vision_patch14_384.safetensors",
        "== CosyVoice", "https://github.com/FunAudioLLM/CosyVoice.git", "FunAudioLLM/CosyVoice2-0.5B",
        f"{prefix}/CosyVoice/pretrained_models/CosyVoice2-0.5B",
        "== HunyuanVideo-1.5 720p", "hunyuanvideo-community/HunyuanVideo-1.5-Diffusers-720p_i2v",
        "== RIFE", "https://github.com/hzwer/Practical-RIFE", "train_log/flownet.pkl",
        "== FlashVSR", "https://github.com/OpenImagingLab/FlashVSR", "huggingface.co/JunhaoZhuang/FlashVSR",
        "Block-Sparse-Attention",
        "CosyVoice/api.py", "HunyuanVideo-1.5/api.py", "video_enhance/sr_if.sh start",
        "dry run: nothing was changed",
    ]:
        assert expected in plan, expected
    assert plan.count("python3 -m venv " + str(prefix / "venvs" / "video_enhance")) <= 1  # planned once
    every_download = [line for line in plan.splitlines() if line.strip().startswith("download:")]
    assert every_download and all("->" in line or "PyPI" in line or "apt" in line or "install.sh" in line
                                  for line in every_download)  # each download says what and where
    assert not prefix.exists() and snapshot(tmp_path / "home") == set()
    assert git_status() == before


def test_dry_run_without_components_plans_only_the_service(tmp_path: Path) -> None:
    done = dry_run(tmp_path)
    assert done.returncode == 0, done.stderr
    assert "Story2Video service" in done.stdout
    for component in ("== Ollama", "== ComfyUI", "== CosyVoice", "== HunyuanVideo", "== RIFE", "== FlashVSR"):
        assert component not in done.stdout


def test_optional_values_and_defaults(tmp_path: Path) -> None:
    done = dry_run(tmp_path, "--ollama", "--cosyvoice", "Fun-CosyVoice3-0.5B-2512", "--hunyuan")
    assert "ollama pull qwen2.5:7b-instruct" in done.stdout
    assert "FunAudioLLM/Fun-CosyVoice3-0.5B-2512" in done.stdout
    assert "HunyuanVideo-1.5-Diffusers-480p_i2v" in done.stdout


@pytest.mark.parametrize(("flags", "message"), [(["--bogus"], "unknown option --bogus"),
                                                (["--hunyuan", "1080p"], "480p or 720p")])
def test_bad_options_are_refused(tmp_path: Path, flags: list[str], message: str) -> None:
    done = dry_run(tmp_path, *flags)
    assert done.returncode != 0 and message in done.stderr


def test_help_lists_every_flag() -> None:
    done = subprocess.run([str(DEPLOY), "--help"], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0
    for flag in ("--ollama", "--comfyui", "--cosyvoice", "--hunyuan", "--rife", "--flashvsr", "--dry-run",
                 "--prefix", "--all"):
        assert flag in done.stdout
