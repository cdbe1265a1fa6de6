#!/usr/bin/env bash
# Reproduces docs/RESULTS.md: every method × seeds 0–4 on Music (honest and the paper's
# test-peeked protocol) and LabelMe (honest: validation split), plus the aggregation
# accuracies. Outputs go to runs/results/.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA="${CONAL_DATA_DIR:-../shared/data}"
OUT=runs/results
mkdir -p "$OUT"
cargo build --release --quiet
CONAL=${CARGO_TARGET_DIR:-target}/release/conal
METHODS=conal,crowdlayer-mw,crowdlayer-vw,crowdlayer-vb,crowdlayer-vwb,ds,glad,mv,gold

"$CONAL" --progress none experiment --task music \
    --train-data "$DATA/music_genre" --test-data "$DATA/music_genre" \
    --methods "$METHODS" --seeds 5 --protocols honest,test-peek --recipe paper --out "$OUT/music"
"$CONAL" --progress none experiment --task labelme \
    --train-data "$DATA/labelme" --valid-data "$DATA/labelme" --test-data "$DATA/labelme" \
    --methods "$METHODS" --seeds 5 --protocols honest --recipe paper --out "$OUT/labelme"
for task in music labelme; do
    dir=$DATA/music_genre; [ $task = labelme ] && dir=$DATA/labelme
    for m in mv ds glad; do
        printf '%s %s ' "$task" "$m"
        "$CONAL" aggregate --task $task --train-data "$dir" --method $m --json
    done
done
