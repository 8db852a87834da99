#!/usr/bin/env bash
# Set up Story2Video on a Debian/Ubuntu machine. Idempotent: what is already there is left alone, so re-running
# only adds what is missing. Every download is announced with its source and destination before it starts.
#
#   ./deploy.sh [options]            the service: system packages (ffmpeg, espeak-ng, fonts-noto-cjk), .venv,
#                                    requirements.txt
#   ./deploy.sh --dry-run --all      print the whole plan; change nothing
#
# Optional components (GPU machines; everything but Ollama goes under --prefix):
#   --ollama [MODEL]        Ollama (official installer) and MODEL (default qwen2.5:7b-instruct)
#   --comfyui               ComfyUI + venv + the upstream workflows' model files (Qwen-Image fp8 T2I,
#                           HunyuanVideo 1.5 720p I2V)
#   --cosyvoice [MODEL]     FunAudioLLM/CosyVoice checkout + venv + MODEL weights (default CosyVoice2-0.5B;
#                           or Fun-CosyVoice3-0.5B-2512) for CosyVoice/api.py
#   --hunyuan [480p|720p]   HunyuanVideo-1.5 Diffusers I2V weights (default 480p) + venv for HunyuanVideo-1.5/api.py
#   --rife                  hzwer/Practical-RIFE checkout + video_enhance venv (weights: a manual step, printed)
#   --flashvsr              OpenImagingLab/FlashVSR checkout + weights + Block-Sparse-Attention, video_enhance venv
#   --all                   every component above with its defaults
#
# Options:
#   --prefix DIR   where checkouts, venvs and weights go (default: $STORY2VIDEO_HOME or ~/story2video)
#   --dry-run      print what would be done (and what is already present); change nothing
#   -h, --help     this text
# Environment: HF_ENDPOINT (Hugging Face mirror, default https://huggingface.co), TORCH_INDEX_URL (a PyTorch wheel
# index for your CUDA, e.g. https://download.pytorch.org/whl/cu124; default: PyPI's wheels).
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PREFIX=${STORY2VIDEO_HOME:-$HOME/story2video}
HF=${HF_ENDPOINT:-https://huggingface.co}
DRY_RUN=0
OLLAMA="" COMFYUI=0 COSYVOICE="" HUNYUAN="" RIFE=0 FLASHVSR=0
NEXT_STEPS=()
ENHANCE_ENV=()  # settings for the video_enhance start command, from --rife / --flashvsr
declare -A PLANNED=()  # what this run has already set up (so a dry run does not plan it twice)

usage() { sed -n '2,26p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }
die() { echo "deploy.sh: $*" >&2; exit 1; }
section() { printf '\n== %s\n' "$*"; }
note() { printf '   %s\n' "$*"; }

# Print a command, then run it (unless --dry-run).
run() {
  local quoted=() arg
  for arg in "$@"; do quoted+=("$(printf '%q' "$arg")"); done
  printf '   $ %s\n' "${quoted[*]}"
  if ((DRY_RUN)); then return 0; fi
  "$@"
}

# --------------------------------------------------------------------------------------------- building blocks

clone() { # clone URL DIR [git options...]
  local url=$1 dir=$2
  shift 2
  if [[ -d $dir/.git ]]; then
    note "present: $dir (git checkout of $url; not updated)"
  else
    note "download: git clone $url -> $dir"
    run git clone "$@" "$url" "$dir"
  fi
}

fetch() { # fetch URL FILE [size]: one file, resumable, skipped when present
  local url=$1 file=$2 size=${3:-}
  if [[ -s $file ]]; then
    note "present: $file"
    return 0
  fi
  note "download: $url -> $file${size:+ ($size)}"
  run mkdir -p "$(dirname "$file")"
  run curl -fL --retry 3 -C - -o "$file.part" "$url"
  run mv "$file.part" "$file"
}

hf_snapshot() { # hf_snapshot REPO_ID DIR PYTHON: every file of a Hugging Face model repo
  local repo_id=$1 dir=$2 python=$3 marker=$2/.story2video-complete
  if [[ -f $marker ]]; then
    note "present: $dir (huggingface.co/$repo_id)"
    return 0
  fi
  note "download: $HF/$repo_id (all files of the model repo) -> $dir"
  run env HF_ENDPOINT="$HF" "$python" -c \
    'import sys; from huggingface_hub import snapshot_download; snapshot_download(repo_id=sys.argv[1], local_dir=sys.argv[2])' \
    "$repo_id" "$dir"
  run touch "$marker"
}

venv() { # venv DIR: a virtual environment, created once
  if [[ -x $1/bin/python || -n ${PLANNED[$1]:-} ]]; then
    note "present: venv $1"
  else
    PLANNED[$1]=1
    run python3 -m venv "$1"
    run "$1/bin/python" -m pip install -q --upgrade pip
  fi
}

pip_install() { # pip_install VENV ARGS...: downloads from PyPI (pip skips what is installed)
  local env=$1
  shift
  note "download: Python packages from PyPI into $env: $*"
  run "$env/bin/python" -m pip install -q "$@"
}

torch_install() { # torch_install VENV PACKAGES...: PyTorch wheels (CUDA build of TORCH_INDEX_URL, else PyPI's)
  local env=$1
  shift
  if [[ -n ${TORCH_INDEX_URL:-} ]]; then
    pip_install "$env" --index-url "$TORCH_INDEX_URL" "$@"
  else
    pip_install "$env" "$@"
  fi
}

# --------------------------------------------------------------------------------------------- the service

system_packages() {
  section "System packages (apt)"
  local need=()
  command -v ffmpeg >/dev/null || need+=(ffmpeg)
  command -v espeak-ng >/dev/null || need+=(espeak-ng)
  fc-list 2>/dev/null | grep -qi "Noto Sans CJK" || need+=(fonts-noto-cjk fontconfig)
  python3 -c 'import ensurepip, venv' 2>/dev/null || need+=(python3-venv)
  command -v curl >/dev/null || need+=(curl ca-certificates)
  if ((COMFYUI || RIFE || FLASHVSR)) || [[ -n $COSYVOICE ]]; then
    command -v git >/dev/null || need+=(git)
  fi
  if ((FLASHVSR)); then command -v git-lfs >/dev/null || need+=(git-lfs); fi
  if ((${#need[@]} == 0)); then
    note "present: ffmpeg, espeak-ng, Noto CJK fonts, python3-venv, curl (and git, git-lfs where needed)"
    return 0
  fi
  note "download: Debian/Ubuntu packages ${need[*]} (apt, system-wide)"
  if ((DRY_RUN)) || [[ $(id -u) -eq 0 ]]; then
    run apt-get update -qq
    run env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}"
  elif command -v sudo >/dev/null; then
    run sudo apt-get update -qq
    run sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}"
  else
    die "please install ${need[*]} (as root: apt-get install ${need[*]}) and run again"
  fi
}

main_service() {
  section "Story2Video service: $REPO/.venv"
  venv "$REPO/.venv"
  pip_install "$REPO/.venv" -r "$REPO/requirements.txt"
  NEXT_STEPS+=("service:        $REPO/.venv/bin/python -m app.main      (http://127.0.0.1:12345, GET /healthz)")
}

# --------------------------------------------------------------------------------------------- components

install_ollama() {
  section "Ollama + $OLLAMA"
  if command -v ollama >/dev/null; then
    note "present: $(command -v ollama)"
  else
    note "download: https://ollama.com/install.sh (official installer: the ollama binary, a systemd service)"
    run sh -c 'curl -fsSL https://ollama.com/install.sh | sh'
  fi
  note "download: Ollama model $OLLAMA (several GB) -> the Ollama model store (~/.ollama/models; for the"
  note "          system service /usr/share/ollama/.ollama/models); ollama pull skips layers already present"
  run ollama pull "$OLLAMA"
  NEXT_STEPS+=("ollama:         ollama serve (systemd does it)       (http://127.0.0.1:11434, GET /api/tags)")
}

# The upstream's two ComfyUI workflows (Qwen-Image T2I, HunyuanVideo 1.5 720p I2V): folder|repo|file|size.
COMFY_MODELS=(
  "diffusion_models|Comfy-Org/Qwen-Image_ComfyUI|split_files/diffusion_models/qwen_image_fp8_e4m3fn.safetensors|~20 GB"
  "text_encoders|Comfy-Org/Qwen-Image_ComfyUI|split_files/text_encoders/qwen_2.5_vl_7b_fp8_scaled.safetensors|~9.4 GB"
  "vae|Comfy-Org/Qwen-Image_ComfyUI|split_files/vae/qwen_image_vae.safetensors|"
  "diffusion_models|Comfy-Org/HunyuanVideo_1.5_repackaged|split_files/diffusion_models/hunyuanvideo1.5_720p_i2v_fp16.safetensors|~16 GB"
  "vae|Comfy-Org/HunyuanVideo_1.5_repackaged|split_files/vae/hunyuanvideo15_vae_fp16.safetensors|"
  "text_encoders|Comfy-Org/HunyuanVideo_1.5_repackaged|split_files/text_encoders/byt5_small_glyphxl_fp16.safetensors|~440 MB"
  "clip_vision|Comfy-Org/sigclip_vision_384|sigclip_vision_patch14_384.safetensors|"
)

install_comfyui() {
  local dir=$PREFIX/ComfyUI env=$PREFIX/venvs/comfyui entry folder repo file size
  section "ComfyUI ($dir) + the upstream workflows' models"
  clone https://github.com/comfyanonymous/ComfyUI "$dir"
  venv "$env"
  torch_install "$env" torch torchvision torchaudio
  pip_install "$env" -r "$dir/requirements.txt"
  for entry in "${COMFY_MODELS[@]}"; do
    IFS='|' read -r folder repo file size <<<"$entry"
    fetch "$HF/$repo/resolve/main/$file" "$dir/models/$folder/${file##*/}" "$size"
  done
  NEXT_STEPS+=("comfyui:        cd $dir && $env/bin/python main.py --listen 127.0.0.1 --port 8188   (GET /system_stats)")
}

install_cosyvoice() {
  local dir=$PREFIX/CosyVoice env=$PREFIX/venvs/cosyvoice model=$PREFIX/CosyVoice/pretrained_models/$COSYVOICE
  section "CosyVoice ($dir) + $COSYVOICE"
  clone https://github.com/FunAudioLLM/CosyVoice.git "$dir" --recursive  # third_party/Matcha-TTS is a submodule
  venv "$env"
  pip_install "$env" -r "$dir/requirements.txt"
  pip_install "$env" -r "$REPO/CosyVoice/requirements.txt" huggingface_hub
  hf_snapshot "FunAudioLLM/$COSYVOICE" "$model" "$env/bin/python"
  note "voices to clone: put <name>.wav (3-30 s of clean speech) + <name>.txt (its transcript) in $REPO/CosyVoice/speakers/"
  NEXT_STEPS+=("cosyvoice:      COSYVOICE_REPO_DIR=$dir COSYVOICE_MODEL_DIR=$model $env/bin/python $REPO/CosyVoice/api.py   (http://127.0.0.1:9233, GET /health)")
}

install_hunyuan() {
  local env=$PREFIX/venvs/hunyuan name=HunyuanVideo-1.5-Diffusers-${HUNYUAN}_i2v
  local model=$PREFIX/models/$name
  section "HunyuanVideo-1.5 $HUNYUAN I2V ($model)"
  venv "$env"
  torch_install "$env" torch
  if [[ -f $REPO/HunyuanVideo-1.5/requirements.txt ]]; then
    pip_install "$env" -r "$REPO/HunyuanVideo-1.5/requirements.txt" huggingface_hub
  else
    pip_install "$env" "diffusers>=0.36" transformers accelerate fastapi "uvicorn[standard]" pydantic-settings \
      pillow numpy huggingface_hub
  fi
  hf_snapshot "hunyuanvideo-community/$name" "$model" "$env/bin/python"
  NEXT_STEPS+=("hunyuan:        HY_MODEL_DIR=$model $env/bin/python $REPO/HunyuanVideo-1.5/api.py   (http://127.0.0.1:8010, GET /health)")
}

enhance_venv() { # the video_enhance service's venv with torch (shared by RIFE and FlashVSR), once per run
  local env=$PREFIX/venvs/video_enhance
  [[ -z ${PLANNED[enhance]:-} ]] || return 0
  PLANNED[enhance]=1
  venv "$env"
  pip_install "$env" -r "$REPO/video_enhance/requirements.txt"
  torch_install "$env" torch torchvision
  pip_install "$env" numpy
}

install_rife() {
  local dir=$PREFIX/Practical-RIFE
  section "RIFE ($dir) for video_enhance"
  clone https://github.com/hzwer/Practical-RIFE "$dir"
  enhance_venv
  if [[ -f $dir/train_log/flownet.pkl ]]; then
    note "present: RIFE weights in $dir/train_log"
  else
    note "MANUAL STEP: the RIFE weights are only on Google Drive / Baidu (links in $dir/README.md): download"
    note "v4.25 and unzip it so that $dir/train_log/flownet.pkl and RIFE_HDv3.py exist, then run this again"
  fi
  ENHANCE_ENV+=("ENHANCE_RIFE_DIR=$dir")
}

install_flashvsr() {
  local dir=$PREFIX/FlashVSR env=$PREFIX/venvs/video_enhance bsa=$PREFIX/Block-Sparse-Attention
  local weights=$PREFIX/FlashVSR/examples/WanVSR/FlashVSR
  section "FlashVSR ($dir) for video_enhance"
  clone https://github.com/OpenImagingLab/FlashVSR "$dir"
  enhance_venv
  pip_install "$env" -e "$dir"
  pip_install "$env" -r "$dir/requirements.txt"
  if [[ -x $env/bin/python ]] && "$env/bin/python" -c 'import block_sparse_attn' 2>/dev/null; then
    note "present: Block-Sparse-Attention in $env"
  else
    clone https://github.com/mit-han-lab/Block-Sparse-Attention "$bsa"
    pip_install "$env" packaging ninja
    note "build: Block-Sparse-Attention CUDA extension (needs nvcc; takes a while) into $env"
    run env -C "$bsa" MAX_JOBS=4 "$env/bin/python" setup.py install
  fi
  if [[ -f $weights/LQ_proj_in.ckpt ]]; then
    note "present: FlashVSR weights in $weights"
  else
    note "download: $HF/JunhaoZhuang/FlashVSR (git lfs) -> $weights"
    note "          (diffusion_pytorch_model_streaming_dmd.safetensors, LQ_proj_in.ckpt, TCDecoder.ckpt, Wan2.1_VAE.pth)"
    run git lfs install
    run git clone "$HF/JunhaoZhuang/FlashVSR" "$weights"
  fi
  ENHANCE_ENV+=("ENHANCE_FLASHVSR_DIR=$dir")
}

# --------------------------------------------------------------------------------------------- main

is_value() { # whether an argument is a value rather than the next --option
  [[ -n ${1:-} && $1 != -* ]]
}

parse_args() {
  while (($#)); do
    case $1 in
      --dry-run) DRY_RUN=1 ;;
      --prefix) PREFIX=${2:?--prefix needs a directory}; shift ;;
      --ollama | --cosyvoice | --hunyuan)
        local flag=$1 value=""
        if is_value "${2:-}"; then value=$2; shift; fi
        case $flag in
          --ollama) OLLAMA=${value:-qwen2.5:7b-instruct} ;;
          --cosyvoice) COSYVOICE=${value:-CosyVoice2-0.5B} ;;
          --hunyuan) HUNYUAN=${value:-480p} ;;
        esac ;;
      --comfyui) COMFYUI=1 ;;
      --rife) RIFE=1 ;;
      --flashvsr) FLASHVSR=1 ;;
      --all) OLLAMA=qwen2.5:7b-instruct COMFYUI=1 COSYVOICE=CosyVoice2-0.5B HUNYUAN=480p RIFE=1 FLASHVSR=1 ;;
      -h | --help) usage; exit 0 ;;
      *) die "unknown option $1 (see --help)" ;;
    esac
    shift
  done
  [[ -z $HUNYUAN || $HUNYUAN == 480p || $HUNYUAN == 720p ]] || die "--hunyuan takes 480p or 720p"
  [[ $PREFIX == /* ]] || PREFIX=$PWD/$PREFIX
}

main() {
  parse_args "$@"
  if ((DRY_RUN)); then echo "deploy.sh --dry-run: the plan (nothing is changed)"; fi
  echo "repository: $REPO; components under: $PREFIX"
  system_packages
  main_service
  if [[ -n $OLLAMA ]]; then install_ollama; fi
  if ((COMFYUI)); then install_comfyui; fi
  if [[ -n $COSYVOICE ]]; then install_cosyvoice; fi
  if [[ -n $HUNYUAN ]]; then install_hunyuan; fi
  if ((RIFE)); then install_rife; fi
  if ((FLASHVSR)); then install_flashvsr; fi
  if ((${#ENHANCE_ENV[@]})); then
    NEXT_STEPS+=("video_enhance:  ${ENHANCE_ENV[*]} PYTHON=$PREFIX/venvs/video_enhance/bin/python $REPO/video_enhance/sr_if.sh start [--gpus 0,1]   (http://127.0.0.1:6010, GET /health)")
  fi
  section "Start commands (ports, health checks: docs/operators.md)"
  printf '   %s\n' "${NEXT_STEPS[@]}"
  if ((DRY_RUN)); then echo "dry run: nothing was changed"; else echo "done"; fi
}

main "$@"
