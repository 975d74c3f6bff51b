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

# The same corpus through the HTTP API of a real `weir server` (its clock 1000x fast, so Waits
# take milliseconds): it must score at least as well as in process.
data="$(mktemp -d)"
log="$data/server.log"
"$target/release/weir" server --data "$data/store" --port 0 --time-scale 1000 --log-level warn 2>"$log" &
server=$!
trap 'kill -TERM $server 2>/dev/null || true; rm -rf "$data"' EXIT
endpoint=""
for _ in $(seq 1 100); do
  endpoint="$(sed -n 's/^weir: listening on //p' "$log")"
  [ -n "$endpoint" ] && break
  sleep 0.1
done
if [ -z "$endpoint" ]; then
  echo "weir server did not start:" >&2
  cat "$log" >&2
  exit 1
fi
api_results="$target/conformance-api-results.jsonl"
"$target/release/weir" conformance "$corpus" --out "$api_results" --endpoint "$endpoint" --time-scale 1000
python3 scripts/conformance_api.py "$corpus" "$results" "$api_results"
