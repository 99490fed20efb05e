#!/usr/bin/env bash
# The whole test suite: formatting, lints, every crate's tests (unit, property, end-to-end,
# GUI snapshots on the software renderer) and a bounded fuzz-style property run.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=never
# Software rendering, pinned so snapshot images are reproducible.
export WGPU_BACKEND="${WGPU_BACKEND:-vulkan}"
export PROPTEST_CASES="${PROPTEST_CASES:-2000}"
# Mesa's software drivers want a runtime dir; CI has none.
if [ -z "${XDG_RUNTIME_DIR:-}" ]; then
  XDG_RUNTIME_DIR="$(mktemp -d)"
  chmod 700 "$XDG_RUNTIME_DIR"
  export XDG_RUNTIME_DIR
fi
cargo fmt --all -- --check
cargo clippy --workspace --all-targets -- -D warnings
cargo test --workspace --all-targets
# Again with the FFmpeg decoder backend (H.265, B-frames): CI builds and tests both.
cargo clippy --workspace --all-targets --features tessera-tests/ffmpeg -- -D warnings
cargo test --workspace --all-targets --features tessera-tests/ffmpeg
