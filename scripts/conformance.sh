#!/usr/bin/env bash
# Runs the ASL conformance corpus and checks the result against weir's targets and baseline.
# usage: scripts/conformance.sh [CORPUS_DIR] [--update]
set -euo pipefail
cd "$(dirname "$0")/.."
corpus="${1:-${WEIR_CORPUS:-../shared/asl-corpus}}"
shift || true
if [ ! -f "$corpus/index.json" ]; then
  if [ "${CI:-}" = "true" ]; then
    echo "conformance corpus not found at $corpus" >&2
    exit 1
  fi
  echo "skipping conformance: no corpus at $corpus (set WEIR_CORPUS)" >&2
  exit 0
fi
target="${CARGO_TARGET_DIR:-target}"
cargo build --quiet --release --locked -p cli
results="$target/conformance-results.jsonl"
"$target/release/weir" conformance "$corpus" --out "$results"
python3 "$corpus/score.py" "$corpus" "$results" --by category
python3 scripts/conformance_check.py "$corpus" "$results" "$@"
