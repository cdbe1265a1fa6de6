#!/usr/bin/env bash
# Reproduces the ablation table of docs/RESULTS.md ("Beyond the peers"): CoNAL under the
# paper recipe with one idea changed per row, seeds 0–4, honest selection, on Music and
# LabelMe. Each row prints test accuracy and the honest criterion the choice is made on —
# Music: held-out crowd NLL; LabelMe: validation accuracy. Outputs in runs/ablation/.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA="${CONAL_DATA_DIR:-../shared/data}"
OUT=runs/ablation
mkdir -p "$OUT"
cargo build --release --quiet
CONAL=${CARGO_TARGET_DIR:-target}/release/conal
MUSIC=(--task music --train-data "$DATA/music_genre" --test-data "$DATA/music_genre")
LABELME=(--task labelme --train-data "$DATA/labelme" --valid-data "$DATA/labelme" --test-data "$DATA/labelme")

# row NAME "flags for Music" "flags for LabelMe"
row() {
    local name=$1
    for task in music labelme; do
        if [ $task = music ]; then args=("${MUSIC[@]}"); flags=$2; else args=("${LABELME[@]}"); flags=$3; fi
        # shellcheck disable=SC2086 # the flags are words
        "$CONAL" --progress none --quiet experiment "${args[@]}" --methods conal --seeds 5 \
            --protocols honest --recipe paper $flags --out "$OUT/$name-$task" > /dev/null
        printf '%s\t%s\t' "$name" "$task"
        grep '^| CoNAL' "$OUT/$name-$task/results.md"
    done
}

row paper "" ""
row adam-never "--adam-reset never" "--adam-reset never"
row cosine-lr "--lr-schedule cosine" "--lr-schedule cosine"
row weight-decay "--weight-decay 1e-4" "--weight-decay 1e-4"
row ema "--ema 0.9" "--ema 0.9"
row mixup "--mixup 0.4" "--mixup 0.4"
row stochastic "--confusion stochastic" "--confusion stochastic"
row xavier "--init xavier" "--init xavier"
row kaiming "--init kaiming" "--init kaiming"
# Feature standardisation: Music's head standardises its input with batch norm (remove it);
# LabelMe's does not (add it).
row standardisation "--head labelme" "--head music"
row ensemble-5 "--ensemble 5" "--ensemble 5"
row ensemble-10 "--ensemble 10" "--ensemble 10"
