#!/usr/bin/env python3
"""Writes data/music_benchmark_split.csv: the Annot-Mix benchmark's split of the 300 Music test
songs into 100 validation and 200 test songs (Herde et al., ECAI 2024; METHODS.md).

Their code splits the test file, in file order, with scikit-learn's
``train_test_split(train_size=100, random_state=0, stratify=y)``, y the true genres; the first
part validates, the second tests. This script makes that split once and keeps only the song
ids and their part (no features, no labels), so that the product and CI need no scikit-learn.

Usage: python3 scripts/music_benchmark_split.py [MUSIC_DIR]  (default ../shared/data/music_genre;
needs numpy, pandas and scikit-learn).
"""
import pathlib
import sys

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

repo = pathlib.Path(__file__).resolve().parent.parent
music = pathlib.Path(sys.argv[1]) if len(sys.argv) > 1 else repo.parent / "shared/data/music_genre"
songs = pd.read_csv(music / "music_genre_test.csv")
index = np.arange(len(songs))
valid, test = train_test_split(index, train_size=100, random_state=0, stratify=songs["class"].to_numpy())
part = np.empty(len(songs), dtype=object)
part[valid] = "valid"
part[test] = "test"
out = repo / "data/music_benchmark_split.csv"
pd.DataFrame({"id": songs["id"], "split": part}).to_csv(out, index=False)
print(f"{out}: {len(valid)} valid, {len(test)} test of {len(songs)} songs")
