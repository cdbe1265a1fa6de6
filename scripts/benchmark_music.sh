#!/usr/bin/env bash
# The Annot-Mix benchmark's protocol on Music (Herde et al., ECAI 2024; docs/RESULTS.md):
# train on the 700 crowd-labelled songs, validate on 100 and test on 200 of the 300 test songs
# (data/music_benchmark_split.csv, made by scripts/music_benchmark_split.py), seeds 0–9, each
# method with the benchmark's recipe (`--recipe benchmark`: deep head, RAdam, cosine annealing,
# 50 epochs of batches of 64), reporting the last epoch and, separately, the best-validation
# epoch. Prints the tables `conal experiment` writes: one for METHODS, then GeoCrowdNet-F and
# -W (CrowdLayer MW with row-stochastic confusions and the volume regulariser, λ = 1e-3).
#
# Usage: scripts/benchmark_music.sh [OUT_DIR]   (env: SEEDS=10, METHODS=annot-mix,madl,...,
# GEO=0 to skip the GeoCrowdNet rows, CONAL_BIN to use a built binary instead of building the
# release one)
set -euo pipefail
cd "$(dirname "$0")/.."
music="${CONAL_DATA_DIR:-../shared/data}/music_genre"
out="${1:-runs/benchmark-music}"
seeds="${SEEDS:-10}"
methods="${METHODS:-annot-mix,madl,conal,crowdlayer-mw,mv,gold}"
[ -f "$music/music_genre_test.csv" ] || { echo "no Music data in $music (set CONAL_DATA_DIR)" >&2; exit 1; }
if [ -z "${CONAL_BIN:-}" ]; then
    cargo build --release --quiet --features cli
    CONAL_BIN="${CARGO_TARGET_DIR:-target}/release/conal"
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
# The two parts of the test file, header kept, songs in file order.
awk -F, -v valid="$work/valid.csv" -v test="$work/test.csv" '
    FNR == NR { if (FNR > 1) part[$1] = $2; next }
    FNR == 1 { print > valid; print > test; next }
    !($1 in part) { print "song " $1 " is not in the split file" > "/dev/stderr"; exit 1 }
    { print > (part[$1] == "valid" ? valid : test) }
' data/music_benchmark_split.csv "$music/music_genre_test.csv"
[ "$(($(wc -l < "$work/valid.csv") - 1))" -eq 100 ] && [ "$(($(wc -l < "$work/test.csv") - 1))" -eq 200 ] \
    || { echo "the split did not give 100 + 200 songs" >&2; exit 1; }
run() {
    "$CONAL_BIN" --progress none experiment --task music --train-data "$music" \
        --valid-data "$work/valid.csv" --test-data "$work/test.csv" \
        --seeds "$seeds" --protocols last,honest --recipe benchmark "$@"
}
run --methods "$methods" --out "$out"
if [ "${GEO:-1}" != 0 ]; then
    for reg in geo-f geo-w; do
        run --methods crowdlayer-mw --confusion stochastic --regularizer "$reg" --out "$out/$reg"
    done
fi
