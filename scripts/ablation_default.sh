#!/usr/bin/env bash
# Reproduces the "Toward a new default" table of docs/RESULTS.md: each idea for the next
# default recipe on Music and LabelMe, seeds 0–4 (fewer where the table says so), honest
# selection. Each row prints test accuracy (for information) and the criterion the choice is
# made on — Music: held-out crowd NLL (out of fold for an ensemble); LabelMe: validation
# accuracy. The last lines time the Music runs of the candidates that are fast enough to
# matter, side by side with the default. Outputs in runs/ablation-default/.
#
# Usage: scripts/ablation_default.sh [ROW…]   (no argument: every row; CONAL_BIN to use a
# built binary). The mixed CoNAL + Annot-Mix ensemble row comes from
# benches/python/mixed_ensemble.py.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA="${CONAL_DATA_DIR:-../shared/data}"
OUT=runs/ablation-default
mkdir -p "$OUT"
if [ -z "${CONAL_BIN:-}" ]; then
    cargo build --release --quiet --features cli
    CONAL_BIN="${CARGO_TARGET_DIR:-target}/release/conal"
fi
MUSIC=(--task music --train-data "$DATA/music_genre" --test-data "$DATA/music_genre")
LABELME=(--task labelme --train-data "$DATA/labelme" --valid-data "$DATA/labelme" --test-data "$DATA/labelme")

# row NAME SEEDS "flags on Music (empty: not run)" "flags on LabelMe (empty: not run)"
row() {
    local name=$1 seeds=$2
    case " ${ROWS:-} " in *" $name "*|"  ") ;; *) return 0 ;; esac
    for task in music labelme; do
        if [ $task = music ]; then args=("${MUSIC[@]}"); flags=$3; else args=("${LABELME[@]}"); flags=$4; fi
        [ -n "$flags" ] || continue
        # shellcheck disable=SC2086 # the flags are words
        "$CONAL_BIN" --progress none --quiet experiment "${args[@]}" --seeds "$seeds" \
            --protocols honest $flags --out "$OUT/$name-$task" > /dev/null
        printf '%s\t%s\t' "$name" "$task"
        grep '^| ' "$OUT/$name-$task/results.md" | tail -1
    done
}
ROWS="$*"

row tuned 5 "--methods conal" "--methods conal"
row annot-mix-ens10 5 "--methods annot-mix --recipe benchmark --ensemble 10" \
    "--methods annot-mix --recipe benchmark --ensemble 10"
row annot-mix-ens5 5 "--methods annot-mix --recipe benchmark --ensemble 5" ""
row annot-mix-ens10-e35 5 "--methods annot-mix --recipe benchmark --ensemble 10 --epochs 35" ""
row annot-mix-ens10-e25 5 "--methods annot-mix --recipe benchmark --ensemble 10 --epochs 25" ""
row annot-mix-labelme-head 2 "" "--methods annot-mix --recipe benchmark --head labelme"
row annot-mix-paper-settings 2 "" "--methods annot-mix --recipe paper --mixup 1"
row madl-ens10 5 "--methods madl --recipe benchmark --ensemble 10" \
    "--methods madl --recipe benchmark --ensemble 10"
row conal-geo-f 5 "--methods conal --regularizer geo-f" "--methods conal --regularizer geo-f"
row conal-label-mixup 5 "--methods conal --recipe paper --mixup 1 --mixup-over labels" \
    "--methods conal --recipe paper --mixup 1 --mixup-over labels"
row conal-ens20 5 "--methods conal --ensemble 20" "--methods conal --ensemble 20"

# Wall time of one whole Music run (`conal train`, seed 0, all threads), side by side.
if [ -z "$ROWS" ]; then
    for flags in "" "--ensemble 20" "--method annot-mix --ensemble 10" "--method annot-mix --ensemble 5"; do
        start=$EPOCHREALTIME
        # shellcheck disable=SC2086
        "$CONAL_BIN" --progress none --quiet train "${MUSIC[@]}" $flags > /dev/null
        awk -v f="${flags:-(default)}" -v a="$start" -v b="$EPOCHREALTIME" \
            'BEGIN { printf "music run %-36s %.1f s\n", f, b - a }'
    done
fi
