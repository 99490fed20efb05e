#!/usr/bin/env bash
# The whole test suite: formatting, lints, every crate's tests (unit, property, end-to-end,
# GUI snapshots on the software renderer) and a bounded fuzz-style property run.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=never
# A CI build is built once: incremental caches would only take disk.
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"
# Software rendering, pinned so snapshot images are reproducible.
export WGPU_BACKEND="${WGPU_BACKEND:-vulkan}"
export PROPTEST_CASES="${PROPTEST_CASES:-2000}"
# Mesa's software drivers want a runtime dir; CI has none.
if [ -z "${XDG_RUNTIME_DIR:-}" ]; then
  XDG_RUNTIME_DIR="$(mktemp -d)"
  chmod 700 "$XDG_RUNTIME_DIR"
  export XDG_RUNTIME_DIR
fi
# A private PostgreSQL server for the observation-table tests: the `postgresql` package's
# binaries, a throwaway data directory, 127.0.0.1 only, stopped when this script ends.
# TESSERA_TEST_DATABASE_URL set beforehand uses that server instead.
export TESSERA_REQUIRE_POSTGRES=1
# The GUI smoke test runs the real window on Xvfb (installed by scripts/setup.sh).
export TESSERA_REQUIRE_XVFB=1
if [ -z "${TESSERA_TEST_DATABASE_URL:-}" ]; then
  PG_BIN="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)"
  if [ -z "$PG_BIN" ]; then
    echo "test: no PostgreSQL server binaries (run scripts/setup.sh)" >&2
    exit 1
  fi
  PG_DIR="$(mktemp -d /tmp/tessera-pg.XXXXXX)"
  PG_PORT="${TESSERA_TEST_PG_PORT:-55432}"
  AS=()
  if [ "$(id -u)" = 0 ]; then # the server refuses to run as root
    chown postgres: "$PG_DIR"
    AS=(runuser -u postgres --)
  fi
  "${AS[@]}" "$PG_BIN/initdb" -D "$PG_DIR/data" -U tessera --auth=trust -E UTF8 >"$PG_DIR/initdb.log"
  "${AS[@]}" "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w \
    -o "-c listen_addresses=127.0.0.1 -p $PG_PORT -k $PG_DIR -c max_connections=200" start >/dev/null
  trap '"${AS[@]}" "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m fast stop >/dev/null || true; rm -rf "$PG_DIR"' EXIT
  export TESSERA_TEST_DATABASE_URL="postgres://tessera@127.0.0.1:$PG_PORT/postgres"
fi
cargo fmt --all -- --check
# The default build: FFmpeg decodes (H.264 of every profile, H.265).
cargo clippy --workspace --all-targets -- -D warnings
cargo test --workspace --all-targets
# Again without default features: openh264 alone (no system FFmpeg needed). CI builds and
# tests both; dependencies are shared between the passes, only our crates build twice.
cargo clippy --workspace --all-targets --no-default-features -- -D warnings
cargo test --workspace --all-targets --no-default-features
