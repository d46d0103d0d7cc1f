#!/usr/bin/env bash
# Set-up, then lint and the whole test suite (slow tests included), on PYTEST_WORKERS processes
# (default 2, one per core here; 0 runs in this process). Extra arguments go to pytest,
# e.g. scripts/test.sh -m "not slow" for the fast subset.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export TF_CPP_MIN_LOG_LEVEL="${TF_CPP_MIN_LOG_LEVEL:-2}"
.venv/bin/ruff check .
exec .venv/bin/python -m pytest -n "${PYTEST_WORKERS:-2}" --dist worksteal "$@"
