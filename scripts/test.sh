#!/usr/bin/env bash
# The linter, then the whole test suite, after creating or updating .venv/ (quick when nothing changed).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
unset _ROS_WHEELS_BOOTSTRAP_COMPLETE
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
echo "test: ruff check (the lint configuration is in pyproject.toml)"
.venv/bin/ruff check --no-cache .
exec .venv/bin/python -m pytest tests "$@"
