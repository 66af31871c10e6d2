#!/usr/bin/env bash
# Set up curator and run the offline demo. Usage: bash scripts/demo.sh [OUT_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then "$PY" -m venv .venv; fi
.venv/bin/python -m pip install -q -U pip >/dev/null
.venv/bin/python -m pip install -q -e ".[synth]"
exec .venv/bin/curator demo "${1:-demo-out}"
