"""ROVER beside crowd-kit 1.4.2's on generated transcriptions (word substitutions, deletions
and insertions by workers of varied care): the same text for every task."""

import numpy as np
import pandas as pd
import pytest

import conal.aggregation as ours
from conftest import require

ck = require("crowdkit.aggregation")

WORDS = "the a cat dog sat ran on under mat rug big small red blue quickly slowly".split()


def generated(n_tasks=200, n_workers=10, per=5, seed=0):
    rng = np.random.default_rng(seed)
    care = rng.uniform(0.6, 0.98, n_workers)
    rows = []
    for t in range(n_tasks):
        truth = list(rng.choice(WORDS, int(rng.integers(1, 9))))
        for w in rng.choice(n_workers, per, replace=False):
            words = []
            for word in truth:
                u = rng.random()
                if u < care[w]:
                    words.append(word)
                elif u < care[w] + (1 - care[w]) / 3:
                    words.append(str(rng.choice(WORDS)))  # substitution
                elif u < care[w] + 2 * (1 - care[w]) / 3:
                    words.extend([word, str(rng.choice(WORDS))])  # insertion
                # else: deletion
            rows.append([f"t{t}", f"w{w}", " ".join(words)])
    return pd.DataFrame(rows, columns=["task", "worker", "text"])


def split(text):
    return text.split(" ")


def join(words):
    return " ".join(words)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_rover_as_crowd_kit(seed):
    df = generated(seed=seed)
    want = ck.ROVER(tokenizer=split, detokenizer=join).fit_predict(df)
    got = ours.ROVER(tokenizer=split, detokenizer=join).fit_predict(df)
    assert list(got.index) == list(want.index) and got.index.name == want.index.name == "task"
    assert got.name == want.name
    assert (got.to_numpy() == want.to_numpy()).all()


def test_rover_known_answers():
    df = pd.DataFrame(
        {
            "task": ["t"] * 3 + ["u"] * 2,
            "worker": ["a", "b", "c", "a", "b"],
            "text": ["the cat sat", "a cat sat", "the cat sad", "hello", "hello world"],
        }
    )
    got = ours.ROVER(tokenizer=str.split, detokenizer=" ".join).fit_predict(df)
    assert got.to_dict() == {"t": "the cat sat", "u": "hello world"}
    want = ck.ROVER(tokenizer=str.split, detokenizer=" ".join).fit_predict(df)
    assert got.to_dict() == want.to_dict()


def test_rover_errors():
    df = pd.DataFrame({"task": ["t"], "worker": ["a"], "text": ["x y"]})
    with pytest.raises(TypeError, match="tokenizer must return a list of strings"):
        ours.ROVER(tokenizer=lambda t: [1, 2], detokenizer=" ".join).fit(df)
    with pytest.raises(KeyError, match="'text'"):
        ours.ROVER(tokenizer=str.split, detokenizer=" ".join).fit(df.drop(columns="text"))
    with pytest.raises(ValueError, match="row 0: no text"):
        ours.ROVER(tokenizer=str.split, detokenizer=" ".join).fit(df.assign(text=[None]))
