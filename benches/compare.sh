#!/usr/bin/env bash
# Side by side on this machine: conal's training epoch against our PyTorch implementation of
# the identical model and loss (benches/reference/conal_torch.py), Music and LabelMe shapes,
# 1 and 2 threads, in one invocation; then the LabelMe epoch against its FLOP floor at the
# measured GEMM peak, and the 1,000,000-item run. PyTorch goes into a venv
# ($CONAL_TORCH_VENV, default ~/.cache/conal/torch-venv), installed from PyPI on first use.
# Run it on a quiet machine: the figures are wall times.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${CONAL_TORCH_VENV:-$HOME/.cache/conal/torch-venv}"
if ! "$VENV/bin/python" -c "import torch" 2>/dev/null; then
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check torch numpy
fi
PY="$VENV/bin/python"
cargo build --release --quiet
CONAL=${CARGO_TARGET_DIR:-target}/release/conal
OUT=runs/compare
mkdir -p "$OUT"
: > "$OUT/results.jsonl"
for shape in music labelme; do
    epochs=30; [ $shape = labelme ] && epochs=4
    for threads in 1 2; do
        "$CONAL" --threads $threads --progress none bench --shape $shape --epochs $epochs --json \
            | sed "s/^/{\"impl\":\"conal\",\"row\":/; s/\$/}/" >> "$OUT/results.jsonl"
        "$PY" benches/reference/conal_torch.py --shape $shape --threads $threads --epochs $epochs \
            | sed "s/^/{\"impl\":\"torch\",\"row\":/; s/\$/}/" >> "$OUT/results.jsonl"
    done
done
"$CONAL" --progress none bench --shape gemm --json \
    | sed "s/^/{\"impl\":\"gemm\",\"row\":/; s/\$/}/" >> "$OUT/results.jsonl"
"$CONAL" --progress none bench --shape million --epochs 2 --json \
    | sed "s/^/{\"impl\":\"million\",\"row\":/; s/\$/}/" >> "$OUT/results.jsonl"
# The machine beside its figures: speed ratios differ by CPU vendor (issue 31: an Intel Xeon
# gave 0.57 and 0.74 where an AMD EPYC gave 0.29-0.34).
cpu="$(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2- | sed 's/^ *//')"
isa="AVX2"; grep -qm1 avx512f /proc/cpuinfo 2>/dev/null && isa="AVX-512"
echo "Machine: ${cpu:-unknown CPU}, $(nproc) cores, $isa"
echo
"$PY" - "$OUT/results.jsonl" <<'PYEOF'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
get = lambda impl, shape, t: next(r["row"] for r in rows if r["impl"] == impl
                                  and r["row"].get("shape", "").lower() == shape and r["row"]["threads"] == t)
print("| shape | threads | conal epoch (ms) | PyTorch epoch (ms) | conal / PyTorch |")
print("|---|--:|--:|--:|--:|")
for shape in ("music", "labelme"):
    for t in (1, 2):
        c, p = get("conal", shape, t), get("torch", shape, t)
        print(f"| {shape} | {t} | {c['median_epoch_ms']:.1f} | {p['median_epoch_ms']:.1f} | "
              f"{c['median_epoch_ms'] / p['median_epoch_ms']:.2f} |")
gemm = next(r["row"] for r in rows if r["impl"] == "gemm")
lm = get("conal", "labelme", 2)
floor_ms = lm["flop_floor"] / (gemm["gflops"] * 1e9) * 1e3
print(f"\nGEMM peak (2 threads): {gemm['gflops']:.1f} GFLOP/s. LabelMe-size epoch: "
      f"{lm['median_epoch_ms']:.0f} ms; FLOP floor {lm['flop_floor'] / 1e9:.1f} GFLOP = "
      f"{floor_ms:.0f} ms at that peak; epoch / floor = {lm['median_epoch_ms'] / floor_ms:.2f}. "
      f"Peak RSS {lm['peak_rss_bytes'] / 1e6:.0f} MB = {lm['peak_over_features']:.3f}x the features.")
m = next(r["row"] for r in rows if r["impl"] == "million")
print(f"1,000,000 items x 2,000 workers x 3 labels: epoch {m['median_epoch_ms'] / 1e3:.1f} s, "
      f"peak RSS {m['peak_rss_bytes'] / 1e9:.2f} GB ({m['peak_over_features']:.3f}x the features).")
PYEOF
