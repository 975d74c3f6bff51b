#!/usr/bin/env bash
# The test command: every Rust test in the workspace (including the boto3 / AWS CLI client
# tests), then the ASL conformance check.
set -euo pipefail
cd "$(dirname "$0")/.."
# The client tests drive weir's API with boto3 and the AWS CLI from this environment. Without
# python3 they are skipped, except under CI=true where they must run.
if command -v python3 >/dev/null 2>&1; then
  WEIR_PYTHON="$(scripts/client-env.sh)"
  export WEIR_PYTHON
elif [ "${CI:-}" = "true" ]; then
  echo "python3 is required under CI=true for the client tests" >&2
  exit 1
fi
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --locked --no-fail-fast
else
  cargo test --workspace --locked --no-fail-fast
fi
scripts/conformance.sh
