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
cargo fmt --all -- --check
# The default build: FFmpeg decodes (H.264 of every profile, H.265).
cargo clippy --workspace --all-targets -- -D warnings
cargo test --workspace --all-targets
# Again without default features: openh264 alone (no system FFmpeg needed). CI builds and
# tests both; dependencies are shared between the passes, only our crates build twice.
cargo clippy --workspace --all-targets --no-default-features -- -D warnings
cargo test --workspace --all-targets --no-default-features
