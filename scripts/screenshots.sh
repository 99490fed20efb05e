#!/usr/bin/env bash
# The README's pictures, drawn by `tessera screenshot` (the window's own code, offscreen, on
# whatever GPU or software renderer there is) from a fresh demo archive.
#   scripts/screenshots.sh            # writes assets/screenshots/*.png
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q
BIN=target/release/tessera
DEMO="$(mktemp -d)/demo"
END=2026-11-01T12:00:00Z
"$BIN" demo --dir "$DEMO" --no-gui --end "$END" >/dev/null
OUT=assets/screenshots
mkdir -p "$OUT"
"$BIN" screenshot --archive "$DEMO" --at 2026-11-01T11:40:48Z --out "$OUT/review.png" --size 1600x1000 --span 600 --utc
"$BIN" screenshot --archive "$DEMO" --at 2026-11-01T11:40:48Z --out "$OUT/grid.png" --size 1600x1000 --grid 2 --span 1800 --utc
rm -rf "$(dirname "$DEMO")"
echo "wrote $OUT/review.png $OUT/grid.png"
