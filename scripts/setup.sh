#!/usr/bin/env bash
# Installs the system packages Tessera's build and tests need on Debian/Ubuntu:
#   nasm                           — openh264's assembly (faster decoding); the build works without it
#   ffmpeg                         — the reference decoder the frame tests compare against (and the
#                                    libx264/libx265 encoders that make their B-frame/H.265 fixtures)
#   pkg-config libav*-dev clang libclang-dev — the optional `ffmpeg` decoder feature (ffmpeg-next)
#   mesa-vulkan-drivers libvulkan1 — software Vulkan (lavapipe) for offscreen wgpu rendering in tests
#   xvfb                           — a virtual X display for GUI smoke tests
#   libxkbcommon-x11-0 ...          — what winit loads at run time for a window
#   postgresql                     — a real server for the PostgreSQL observation-table tests
#                                    (scripts/test.sh starts a private one; the Debian service
#                                    itself is not used)
# Safe to run again; uses sudo when not root.
set -euo pipefail
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
PKGS=(nasm ffmpeg pkg-config libavcodec-dev libavformat-dev libavutil-dev clang libclang-dev mesa-vulkan-drivers libvulkan1 xvfb libxkbcommon-x11-0 libx11-6 libxcursor1 libxrandr2 libxi6 libgl1 libegl1 postgresql)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
echo "setup: system packages present"
