#!/usr/bin/env bash
# Trajectory benchmark, Tessera beside Python feder 1.2.1 in the same run, on the same files:
# the representative query (2025-05-22 20:00–21:00 UTC, 50 km box around Boston, crosses +
# filter-waypoints) over three day files of synthetic traffic, warm, median of 10 runs; then
# the projection of 10,000 aircraft. Results go to stdout as JSON lines (BENCHMARKS.md).
#
#   scripts/bench_traj.sh [STORE_DIR] [FEDER_PYTHON]
#
# FEDER_PYTHON is a Python with feder 1.2.1, numpy and lz4 (default /tmp/feder-venv/bin/python;
# see scripts/feder_query.py for the install). Without it only Tessera is measured.
set -euo pipefail
cd "$(dirname "$0")/.."
store=${1:-/tmp/tessera-bench-traj}
python=${2:-/tmp/feder-venv/bin/python}
bin=target/release/tessera
cargo build --release --quiet
if [ ! -d "$store/2025" ]; then
  "$bin" traj synth --store "$store" --from 2025-05-21T00:00:00Z --days 3 --flights 20000
fi
q=(--from 1747944000 --to 1747947600 --crosses --bbox 41.911122,-71.665630,42.809434,-70.449926
   --filter-waypoints --repeat 10 --json)
summary='import json,sys; d=json.load(sys.stdin); d.pop("trajectories"); print(json.dumps(d))'
echo "# machine: $(nproc) cores, $(uname -m); store: $(du -sh "$store/2025" | cut -f1) in 3 day files"
"$bin" traj index --store "$store" --json
for round in 1 2; do
  if [ -x "$python" ]; then
    echo "# round $round: feder 1.2.1 (Python)"
    "$python" scripts/feder_query.py --store "$store" "${q[@]}" | python3 -c "$summary"
  fi
  echo "# round $round: tessera, no sidecar"
  "$bin" traj query --store "$store" "${q[@]}" --no-sidecar | python3 -c "$summary"
  echo "# round $round: tessera, sidecar"
  "$bin" traj query --store "$store" "${q[@]}" | python3 -c "$summary"
done
echo "# projection: 10,000 aircraft at one instant"
"$bin" bench project --json
