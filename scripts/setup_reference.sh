#!/usr/bin/env bash
# The separate environment of the AutoAttack cross-check (bench/autoattack_reference.py):
# our requirements plus PyTorch (CPU) and torchattacks, kept out of .venv so that the project
# never depends on torch. torch 2.13.0 is pinned: on our machines its CPU wheel is on disk; a
# plain `pip install torch` elsewhere fetches a CUDA build of several GB.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
[ -x .venv-ref/bin/python ] || "$PYTHON" -m venv .venv-ref
stamp=.venv-ref/.requirements.sha256
wanted=$(cat requirements.txt "$0" | sha256sum | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$wanted" ]; then
  .venv-ref/bin/python -m pip install -q -r requirements.txt torch==2.13.0 "scipy>=1.11,<2" "tqdm>=4.56"
  # torchattacks pins requests~=2.25 and torchvision, neither of which its attacks import.
  .venv-ref/bin/python -m pip install -q --no-deps torchattacks==3.5.1
  echo "$wanted" > "$stamp"
fi
