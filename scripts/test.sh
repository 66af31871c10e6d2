#!/usr/bin/env bash
# Set up everything the tests need, then run them. Usage: bash scripts/test.sh [pytest args]
#  - .venv      curator with its dev, review and ray extras (Ray runs as a local instance in the tests)
#  - chromium   Debian's headless browser, for the report page (apt-get, when missing)
#  - .ls-venv   Label Studio in a venv of its own (its pins on openai<2 and pyarrow clash with ours);
#               the test session starts a real server from it on 127.0.0.1
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then "$PY" -m venv .venv; fi
.venv/bin/python -m pip install -q -U pip >/dev/null
.venv/bin/python -m pip install -q -e ".[dev,review,ray]"
if [ ! -x .ls-venv/bin/label-studio ]; then
  "$PY" -m venv .ls-venv
  .ls-venv/bin/python -m pip install -q -U pip >/dev/null
  .ls-venv/bin/python -m pip install -q "label-studio>=1.20"
fi
if ! command -v chromium >/dev/null 2>&1; then  # the report page is tested in a real headless browser
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo -n"
  $SUDO apt-get install -y -q chromium >/dev/null 2>&1 || { $SUDO apt-get update -q >/dev/null 2>&1 &&
    $SUDO apt-get install -y -q chromium >/dev/null 2>&1; } ||
    echo "could not install Debian's chromium: tests/e2e/test_report.py will fail (it does not skip)" >&2
fi
export CURATOR_LABEL_STUDIO_BIN="$PWD/.ls-venv/bin/label-studio"
.venv/bin/ruff check curator tests benchmarks
.venv/bin/lint-imports --no-cache          # the import contract in pyproject.toml ([tool.importlinter])
.venv/bin/mypy                              # curator/ and the public-API probe, settings in pyproject.toml
exec .venv/bin/python -m pytest "$@"
