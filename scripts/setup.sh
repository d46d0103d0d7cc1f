#!/usr/bin/env bash
# Creates or refreshes .venv from requirements.txt and installs the offline data set.
# Idempotent: pip runs only when requirements.txt changed since the last install.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3}"
FASHION_DIR=/usr/share/datasets/fashion-mnist

if [ ! -f "$FASHION_DIR/t10k-labels-idx1-ubyte.gz" ]; then
  if command -v apt-get >/dev/null 2>&1; then
    SUDO=""
    [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    echo "setup: installing Debian's dataset-fashion-mnist (offline Fashion-MNIST)"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq dataset-fashion-mnist
  else
    echo "setup: no apt-get here; put the four Fashion-MNIST IDX .gz files in a folder and pass" \
         "--data.data_dir FOLDER (tfds data sets need network access)" >&2
  fi
fi

if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv with $($PYTHON --version)"
  "$PYTHON" -m venv .venv
fi
stamp=.venv/.requirements.sha256
wanted=$(sha256sum requirements.txt | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$wanted" ]; then
  echo "setup: installing requirements.txt into .venv"
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -r requirements.txt
  echo "$wanted" > "$stamp"
fi
