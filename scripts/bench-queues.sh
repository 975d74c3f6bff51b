#!/usr/bin/env bash
# The queue benchmark through HTTP, beside Redis Streams, in one run on this machine:
#   1. the disk's fsync rate (../shared/bench/fsync_probe.py),
#   2. `weir server` (release build, SQLite, synchronous=FULL) driven by boto3 through the SQS
#      API with ../shared/bench/queue_bench.py (send, then receive + delete, batches of 10, a DLQ),
#   3. the same workload on Redis Streams with `appendfsync always` (every write fsynced, as
#      weir's are) on a private redis-server,
# and prints both results and weir's ratio to Redis. Compare only figures of one run.
# usage: scripts/bench-queues.sh [MESSAGES] [PRODUCERS] [CONSUMERS]
#   WEIR_BENCH_DIR   the peers' bench scripts [default: ../shared/bench]
set -euo pipefail
cd "$(dirname "$0")/.."
messages="${1:-50000}"
producers="${2:-8}"
consumers="${3:-8}"
bench_dir="${WEIR_BENCH_DIR:-../shared/bench}"
target="${CARGO_TARGET_DIR:-target}"
venv="${WEIR_BENCH_VENV:-$HOME/.cache/weir/bench-venv}"
if [ ! -x "$venv/bin/python" ] || ! cmp -s tests/bench/requirements.txt "$venv/.requirements"; then
    python3 -m venv "$venv" >&2
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r tests/bench/requirements.txt >&2
    cp tests/bench/requirements.txt "$venv/.requirements"
fi
command -v redis-server >/dev/null || { echo "redis-server is needed (apt package redis-server)" >&2; exit 1; }
cargo build --quiet --release --locked -p cli

work="$(mktemp -d)"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

echo "machine: $(nproc) cores"
echo -n "disk: "; python3 "$bench_dir/fsync_probe.py" --dir "$work" --seconds 2

"$target/release/weir" server --data "$work/weir" --port 0 --log-level warn 2>"$work/weir.log" &
pids+=($!)
endpoint=""
for _ in $(seq 1 100); do
  endpoint="$(sed -n 's/^weir: listening on //p' "$work/weir.log")"
  [ -n "$endpoint" ] && break
  sleep 0.1
done
[ -n "$endpoint" ] || { cat "$work/weir.log" >&2; exit 1; }
"$venv/bin/python" "$bench_dir/queue_bench.py" --backend sqs --endpoint-url "$endpoint" --target-name weir \
  -n "$messages" --producers "$producers" --consumers "$consumers" --dlq-check 20 \
  --max-seconds 560 --json-out "$work/weir.json" >/dev/null

mkdir -p "$work/redis"
redis-server --bind 127.0.0.1 --port 6391 --dir "$work/redis" --appendonly yes --appendfsync always \
  --save "" >"$work/redis.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do redis-cli -p 6391 ping >/dev/null 2>&1 && break; sleep 0.1; done
"$venv/bin/python" "$bench_dir/queue_bench.py" --backend redis --redis-url redis://127.0.0.1:6391/0 \
  --target-name redis-streams-aof-always -n "$messages" --producers "$producers" --consumers "$consumers" \
  --dlq-check 20 --max-seconds 560 --json-out "$work/redis.json" >/dev/null

python3 - "$work/weir.json" "$work/redis.json" <<'PY'
import json, sys
weir, redis = (json.load(open(p)) for p in sys.argv[1:3])
keys = [k for k in weir if k.endswith("per_s") or k.endswith("msgs_s") or "msgs" in k and isinstance(weir[k], (int, float))]
print(json.dumps({"weir": weir, "redis": redis}, indent=1))
for k in sorted(set(keys)):
    if isinstance(redis.get(k), (int, float)) and redis[k]:
        print(f"{k}: weir {weir[k]:.0f}, redis {redis[k]:.0f}, ratio {weir[k] / redis[k]:.2f}")
PY
