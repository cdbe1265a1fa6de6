#!/usr/bin/env bash
# GPU check: the training epoch on a GPU through burn's wgpu backend (Vulkan), for a machine
# with an NVIDIA GPU and no network.
#
#   scripts/gpu_check.sh [CONAL_BINARY]
#
# Build the binary on a machine with the package registries (the GPU machine needs none):
#   cargo build --release --features wgpu     # → $CARGO_TARGET_DIR/release/conal
# and bring it along (default: target/release/conal, or $CARGO_TARGET_DIR/release/conal).
# The GPU machine needs the Vulkan loader, libvulkan.so.1 (Debian/Ubuntu package libvulkan1:
# `apt-get download libvulkan1` here, `dpkg -i` there, or LD_LIBRARY_PATH at its unpacked
# lib folder), and the NVIDIA driver's Vulkan ICD (nvidia_icd.json, which the driver
# installs). Without a GPU, Mesa's lavapipe (mesa-vulkan-drivers) stands in, slowly.
#
# Prints the Vulkan devices found (vulkaninfo, from the vulkan-tools package, when it is there;
# else the driver ICDs and nvidia-smi's view), then `conal bench --json` for the LabelMe-size epoch
# (10,000 × 8,192 features, batch 128) and the 1,000,000-item epoch (64 features, 2,000
# workers, 3 labels per item), on the GPU and, for comparison, on the CPU.
set -euo pipefail
cd "$(dirname "$0")/.."
bin="${1:-}"
if [ -z "$bin" ]; then
    for c in "${CARGO_TARGET_DIR:-target}/release/conal" target/release/conal; do
        if [ -x "$c" ]; then bin="$c"; break; fi
    done
fi
if [ -z "$bin" ] || [ ! -x "$bin" ]; then
    echo "no conal binary: build one with \`cargo build --release --features wgpu\` and pass its path" >&2
    exit 2
fi
echo "== binary: $bin ($("$bin" --version))"
echo "== Vulkan devices"
if command -v vulkaninfo >/dev/null 2>&1; then
    vulkaninfo --summary 2>/dev/null | grep -E "deviceName|deviceType|driverName|apiVersion" || true
else
    for icd in /usr/share/vulkan/icd.d/*.json /etc/vulkan/icd.d/*.json; do
        [ -e "$icd" ] && echo "ICD: $icd"
    done
    command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv
fi
for shape in labelme million; do
    for device in wgpu cpu; do
        epochs=5
        [ "$shape" = million ] && epochs=3
        echo "== $shape epoch on $device"
        "$bin" --progress none bench --shape "$shape" --device "$device" --epochs "$epochs" --json
    done
done
