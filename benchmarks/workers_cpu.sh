#!/bin/bash
# Issue 17 on CPU: one worker with every core's threads against N workers sharing them (each
# gets cores // N threads), on the same 8-point grid, a fresh SQLite storage each time.
#   bash benchmarks/workers_cpu.sh [N]      (default N = 2; run it on a quiet machine)
set -u
cd "$(dirname "$0")/.." && . .venv/bin/activate && export HF_HUB_OFFLINE=1
spec=benchmarks/specs/workers-cpu.toml
out=${TMPDIR:-/tmp}/advisor-workers-cpu
mkdir -p "$out"
for n in 1 "${1:-2}"; do
  rm -f "$out/w$n.db"*
  start=$(date +%s.%N)
  advisor grid "$spec" --storage "sqlite:///$out/w$n.db" --workers "$n" --json > "$out/w$n.json" 2> "$out/w$n.err"
  code=$?
  echo "workers=$n exit=$code wall_s=$(echo "$(date +%s.%N) - $start" | bc)"
done
