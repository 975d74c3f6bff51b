#!/usr/bin/env bash
# The queue benchmark through HTTP, beside Redis Streams, in one run on this machine:
#   1. the disk's fsync rate (../shared/bench/fsync_probe.py),
#   2. `weir server` (release build, SQLite, synchronous=FULL) driven by boto3 through the SQS
#      API with ../shared/bench/queue_bench.py (send, then receive + delete, batches of 10, a DLQ),
#   3. the same workload on Redis Streams with `appendfsync always` (every write fsynced, as
#      weir's are) on a private redis-server,
#   4. the same boto3 workload on `null_sqs` (crates/api/examples), an endpoint that keeps
#      messages in a list in memory and does nothing else: the most the harness's boto3 client
#      can move on this machine, whatever the server (no DLQ phase: it has no redrive),
# and prints the results, weir's ratio to Redis and to the client ceiling, and the CPU seconds
# per 1000 messages of each harness (client) and each server process. Compare only figures of
# one run.
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
cargo build --quiet --release --locked -p api --example null_sqs

work="$(mktemp -d)"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

# CPU seconds (user + system) process $1 has used so far.
cpu_of() {
  python3 -c 'import os,sys; f=open(f"/proc/{sys.argv[1]}/stat").read().rsplit(")",1)[1].split(); print((int(f[11])+int(f[12]))/os.sysconf("SC_CLK_TCK"))' "$1"
}

# Runs the harness with the arguments given; writes its CPU seconds to $work/$name.client.
harness() {
  local name="$1"; shift
  "$venv/bin/python" - "$work/$name.client" "$venv/bin/python" "$bench_dir/queue_bench.py" "$@" <<'PY'
import resource, subprocess, sys
out, cmd = sys.argv[1], sys.argv[2:]
subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
r = resource.getrusage(resource.RUSAGE_CHILDREN)
open(out, "w").write(str(r.ru_utime + r.ru_stime))
PY
}

# Starts a server in the background, waits for `$pattern URL` in its output, sets $endpoint and
# $server_pid.
start() {
  local name="$1" pattern="$2"; shift 2
  "$@" >"$work/$name.log" 2>&1 &
  server_pid=$!
  pids+=("$server_pid")
  endpoint=""
  for _ in $(seq 1 100); do
    endpoint="$(sed -n "s/^$pattern //p" "$work/$name.log")"
    [ -n "$endpoint" ] && break
    sleep 0.1
  done
  [ -n "$endpoint" ] || { cat "$work/$name.log" >&2; exit 1; }
}

echo "machine: $(nproc) cores"
echo -n "disk: "; python3 "$bench_dir/fsync_probe.py" --dir "$work" --seconds 2

start weir "weir: listening on" "$target/release/weir" server --data "$work/weir" --port 0 --log-level warn
before="$(cpu_of "$server_pid")"
harness weir --backend sqs --endpoint-url "$endpoint" --target-name weir \
  -n "$messages" --producers "$producers" --consumers "$consumers" --dlq-check 20 \
  --max-seconds 560 --json-out "$work/weir.json"
python3 -c "print($(cpu_of "$server_pid") - $before)" >"$work/weir.server"

start null "listening on" "$target/release/examples/null_sqs"
before="$(cpu_of "$server_pid")"
harness null --backend sqs --endpoint-url "$endpoint" --target-name null-sqs \
  -n "$messages" --producers "$producers" --consumers "$consumers" --dlq-check 0 \
  --max-seconds 560 --json-out "$work/null.json"
python3 -c "print($(cpu_of "$server_pid") - $before)" >"$work/null.server"

mkdir -p "$work/redis"
redis-server --bind 127.0.0.1 --port 6391 --dir "$work/redis" --appendonly yes --appendfsync always \
  --save "" >"$work/redis.log" 2>&1 &
redis_pid=$!
pids+=("$redis_pid")
for _ in $(seq 1 100); do redis-cli -p 6391 ping >/dev/null 2>&1 && break; sleep 0.1; done
before="$(cpu_of "$redis_pid")"
harness redis --backend redis --redis-url redis://127.0.0.1:6391/0 \
  --target-name redis-streams-aof-always -n "$messages" --producers "$producers" --consumers "$consumers" \
  --dlq-check 20 --max-seconds 560 --json-out "$work/redis.json"
python3 -c "print($(cpu_of "$redis_pid") - $before)" >"$work/redis.server"

python3 - "$work" "$messages" <<'PY'
import json, pathlib, sys
work, n = pathlib.Path(sys.argv[1]), int(sys.argv[2])
runs = {name: json.loads((work / f"{name}.json").read_text()) for name in ("weir", "redis", "null")}
cpu = {name: (float((work / f"{name}.client").read_text()), float((work / f"{name}.server").read_text()))
       for name in runs}
print(json.dumps(runs, indent=1))


def rate(run, phase):
    """Messages per second of one phase (`send`, `drain`) or of both (`combined`)."""
    if phase == "combined":
        return run.get("combined_msgs_per_s")
    part = run.get(phase)
    return part.get("msgs_per_s") if isinstance(part, dict) else None


for phase in ("send", "drain", "combined"):
    w, r, c = (rate(runs[name], phase) for name in ("weir", "redis", "null"))
    if not w:
        continue
    line = f"{phase} msgs/s: weir {w:.0f}"
    if r:
        line += f", redis {r:.0f} (weir/redis {w / r:.2f})"
    if c:
        line += f", client ceiling (null_sqs) {c:.0f} (weir/ceiling {w / c:.2f})"
    print(line)
for name, (client, server) in cpu.items():
    print(f"cpu per 1000 messages, {name}: client {1000 * client / n:.3f} s, server {1000 * server / n:.3f} s")
PY
