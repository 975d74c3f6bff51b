#!/usr/bin/env bash
# The test command: every Rust test in the workspace, then the ASL conformance check.
set -euo pipefail
cd "$(dirname "$0")/.."
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --locked --no-fail-fast
else
  cargo test --workspace --locked --no-fail-fast
fi
scripts/conformance.sh
