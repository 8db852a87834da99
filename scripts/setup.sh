#!/usr/bin/env bash
# Idempotent setup for a fresh Debian/Ubuntu machine: system tools, then the venv and requirements.
# As root it apt-installs what is missing; elsewhere it says what to install and stops.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v ffmpeg >/dev/null || need+=(ffmpeg)
command -v espeak-ng >/dev/null || need+=(espeak-ng)
command -v shellcheck >/dev/null || need+=(shellcheck)  # tests/test_shell_scripts.py lints every *.sh
fc-list 2>/dev/null | grep -qi "Noto Sans CJK" || need+=(fonts-noto-cjk)
command -v chromium >/dev/null || need+=(chromium)  # tests/test_studio_browser.py (headless, via Playwright)
if ((${#need[@]})); then
  if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
    echo "setup: installing ${need[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" fontconfig >/dev/null
  else
    echo "setup: please install: ${need[*]} (Debian/Ubuntu: apt-get install ${need[*]}; macOS: brew install ffmpeg espeak-ng, a Noto CJK font and Chromium)" >&2
    exit 1
  fi
fi

[[ -x .venv/bin/python ]] || python3 -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check -r requirements-dev.txt
# The scale-out tests (tests/test_scaleout.py) need PostgreSQL on 127.0.0.1:5432; the demo does not.
./scripts/postgres.sh || echo "setup: PostgreSQL is not running; only the scale-out tests need it" >&2
