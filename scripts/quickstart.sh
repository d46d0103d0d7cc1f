#!/usr/bin/env bash
# Set-up, then the quickstart training (AGAIN-PGD-AT, Fashion-MNIST, eps 0.1). Extra arguments
# are passed to `python -m training.train` (e.g. --epochs 1, --method pgd_at).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export TF_CPP_MIN_LOG_LEVEL="${TF_CPP_MIN_LOG_LEVEL:-2}"
exec .venv/bin/python -m training.train --preset quickstart "$@"
