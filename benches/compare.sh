#!/usr/bin/env bash
# Compares globus-app with the Python globus-sdk 4.10 on this machine, in one run:
# hot path, cold start, login requests, refresh storm, storage, peak memory.
#
#   bash benches/compare.sh [--quick] [--json results.json]
#
# Uses $GLOBUS_APP_PYTHON if it has globus-sdk 4.10.0 (CI's .ci/run makes one);
# otherwise installs globus-sdk==4.10.0 into a throwaway venv (removed afterwards).
# Release builds go to $CARGO_TARGET_DIR (default: target/). Not part of CI: it
# takes a few minutes (most of it the release build, once).
set -euo pipefail
cd "$(dirname "$0")/.."

has_sdk() {
    "$1" -c 'import globus_sdk, sys; sys.exit(globus_sdk.__version__ != "4.10.0")' 2>/dev/null
}

PYTHON="${GLOBUS_APP_PYTHON:-}"
if [ -z "$PYTHON" ] || ! has_sdk "$PYTHON"; then
    VENV_DIR="$(mktemp -d "${TMPDIR:-/tmp}/globus-app-compare-venv.XXXXXX")"
    trap 'rm -rf "$VENV_DIR"' EXIT
    echo "== installing globus-sdk 4.10.0 into a throwaway venv ($VENV_DIR)" >&2
    python3 -m venv "$VENV_DIR"
    "$VENV_DIR/bin/pip" install --quiet --disable-pip-version-check globus-sdk==4.10.0
    PYTHON="$VENV_DIR/bin/python"
fi
echo "== Python: $PYTHON ($("$PYTHON" -c 'import globus_sdk; print("globus-sdk", globus_sdk.__version__)'))" >&2
if command -v hyperfine >/dev/null; then
    echo "== cold start timed with $(hyperfine --version)" >&2
else
    echo "== hyperfine not found (apt-get install hyperfine); cold start timed in a Python loop" >&2
fi

"$PYTHON" benches/compare.py "$@"
