#!/usr/bin/env bash
# Side-by-side benchmark of kubesim against SimPy, salabim and Ciw (see docs/PERFORMANCE.md).
#
# Creates a Python virtual environment with the pinned peers (requirements.txt), builds
# kubesim's `peers` example in release mode, runs the hold model and M/M/c in every tool,
# prints a table and writes a CSV.
#
# Usage: benches/peers/run.sh [out.csv]        (default: target/peers/results.csv)
# Environment: PEERS_VENV (default target/peers/venv), PYTHON (default python3),
#              PEERS_SCALE (multiplies every run length; default 1).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
target="${CARGO_TARGET_DIR:-$root/target}"
venv="${PEERS_VENV:-$target/peers/venv}"
out="${1:-$target/peers/results.csv}"
mkdir -p "$(dirname "$out")"

if [ ! -x "$venv/bin/python" ]; then
  "${PYTHON:-python3}" -m venv "$venv"
fi
"$venv/bin/pip" install --quiet --disable-pip-version-check -r "$here/requirements.txt"

(cd "$root" && cargo build --release --quiet --example peers)

echo "uptime before: $(uptime)"
"$venv/bin/python" "$here/driver.py" "$target/release/examples/peers" "$out"
echo "uptime after:  $(uptime)"
