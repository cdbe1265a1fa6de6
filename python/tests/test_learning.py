"""conal.learning: scikit-learn shaped estimators, the same models as the command line, and
checkpoint directories shared with it."""

import json
import os
import pathlib
import subprocess
import threading
import time

import numpy as np
import pandas as pd
import pytest

import conal
from conal.learning import AggregatedClassifier, AnnotMix, CoNAL, CrowdLayer, MaDL

from conftest import REPO, TABLE


def cli(*args):
    # scripts/test.sh points CONAL_BIN at the binary it built.
    binary = pathlib.Path(os.environ.get("CONAL_BIN", REPO / "target" / "debug" / "conal"))
    if not binary.is_file():
        if os.environ.get("CONAL_REQUIRE_DATA"):
            pytest.fail(f"no conal binary at {binary} (set CONAL_BIN)")
        pytest.skip(f"SKIPPED: no conal binary at {binary} (set CONAL_BIN)")
    out = subprocess.run([str(binary), "--progress", "none", *map(str, args)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return out.stdout


def accuracy(pred, truth):
    return float(np.mean(np.asarray(pred, dtype=str) == np.asarray(truth, dtype=str)))


def test_conal_fits_predicts_and_reports(table):
    answers, features, test, gold = table
    model = CoNAL(recipe="paper", epochs=30, progress=False)
    assert model.get_params()["epochs"] == 30
    model.set_params(seed=1)
    assert model.seed == 1
    model.fit(features, answers)
    assert list(model.classes_) == ["c0", "c1", "c2"]
    p = model.predict_proba(test)
    assert p.shape == (60, 3) and p.dtype == np.float32
    np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-5)
    assert accuracy(model.predict(test), gold) > 0.7
    assert model.common_confusion_.shape == (3, 3)
    assert model.worker_confusions_.shape == (6, 3, 3)
    np.testing.assert_allclose(model.worker_probabilities_.sum(axis=-1), 1.0)
    stats = model.worker_stats_
    assert stats.index.name == "worker" and len(stats) == 6
    assert stats["labels"].sum() == len(answers)
    assert len(model.history_) == 30


def test_array_x_with_row_numbers_or_task_ids(table):
    answers, features, test, gold = table
    rows = {t: i for i, t in enumerate(features.index)}
    numbered = answers.assign(task=answers.task.map(rows))
    x64 = features.to_numpy()  # float64: converted once
    a = CoNAL(recipe="paper", epochs=10, progress=False).fit(x64, numbered)
    b = CoNAL(recipe="paper", epochs=10, progress=False).fit(np.asfortranarray(x64), answers, tasks=features.index)
    np.testing.assert_array_equal(a.predict_proba(test.to_numpy()), b.predict_proba(test.to_numpy()))


def test_float32_c_contiguous_x_is_not_copied(table):
    from conal import _conal
    from conal.learning import _features

    answers, features, test, gold = table
    x32 = np.ascontiguousarray(features.to_numpy(), dtype=np.float32)
    # The Python layer passes the array itself on, and the native matrix reads its buffer.
    passed, _ = _features(x32, None)
    assert passed is x32
    assert _conal._matrix_address(x32) == x32.ctypes.data
    # A strided view or another dtype is converted (once) instead.
    for view in (np.asfortranarray(x32), x32[:, ::-1]):
        assert _conal._matrix_address(view) != view.ctypes.data
    converted, _ = _features(features.to_numpy(), None)
    assert converted.dtype == np.float32 and converted.flags.c_contiguous
    # The same model either way.
    a = CoNAL(recipe="paper", epochs=5, progress=False).fit(x32, answers, tasks=features.index)
    b = CoNAL(recipe="paper", epochs=5, progress=False).fit(features, answers)
    np.testing.assert_array_equal(a.predict_proba(test.to_numpy()), b.predict_proba(test.to_numpy()))


def test_same_model_as_the_command_line_and_shared_checkpoints(table, tmp_path):
    answers, features, test, gold = table
    model = CoNAL(recipe="paper", epochs=30, progress=False).fit(features, answers)
    ours = accuracy(model.predict(test), gold)
    ckpt = tmp_path / "cli"
    cli("train", "--task", "table", "--recipe", "paper", "--epochs", "30", "--answers",
        TABLE / "answers.csv", "--features", TABLE / "features.csv", "--save-dir", ckpt)
    scored = json.loads(cli("test", "--json", "--ckpt-dir", ckpt, "--test-features",
                            TABLE / "test_features.csv", "--test-gold", TABLE / "test_gold.csv"))
    assert scored["accuracy"] == pytest.approx(ours, abs=1e-12)
    # The very same model: its bytes.
    saved = tmp_path / "py"
    model.save(saved)
    assert (saved / "model.bpk").read_bytes() == (ckpt / "model.bpk").read_bytes()
    # conal test reads the directory Python wrote; conal.load the one the CLI wrote.
    scored = json.loads(cli("test", "--json", "--ckpt-dir", saved, "--test-features",
                            TABLE / "test_features.csv", "--test-gold", TABLE / "test_gold.csv"))
    assert scored["accuracy"] == pytest.approx(ours, abs=1e-12)
    # A directory holding a run is not replaced by accident, nor is a file.
    with pytest.raises(FileExistsError, match="already holds a run: pass overwrite=True"):
        model.save(saved)
    a_file = tmp_path / "notes.txt"
    a_file.write_text("mine")
    with pytest.raises(FileExistsError, match=f"{a_file} exists and is not a directory"):
        model.save(a_file)
    assert a_file.read_text() == "mine"
    model.save(saved, overwrite=True)
    assert (saved / "model.bpk").read_bytes() == (ckpt / "model.bpk").read_bytes()
    loaded = conal.load(str(ckpt))
    assert isinstance(loaded, CoNAL)
    np.testing.assert_array_equal(loaded.predict_proba(test), model.predict_proba(test))
    assert loaded.worker_stats_.shape[0] == 6


def test_integer_classes_survive_save_and_load(table, tmp_path):
    answers, features, test, gold = table
    codes = {c: i for i, c in enumerate(sorted(answers.label.unique()))}
    numbered = answers.assign(label=answers.label.map(codes))
    model = CoNAL(recipe="paper", epochs=5, progress=False).fit(features, numbered)
    assert model.classes_.dtype.kind == "i"
    model.save(tmp_path / "int")
    loaded = conal.load(str(tmp_path / "int"))
    np.testing.assert_array_equal(loaded.classes_, model.classes_)
    np.testing.assert_array_equal(loaded.predict(test), model.predict(test))
    # Names that are not plain integers stay strings.
    from conal.learning import _names

    assert list(_names(["01", "2"])) == ["01", "2"] and _names(["a", "1"]).dtype == object


def test_other_methods(table):
    answers, features, test, gold = table
    for est in (CrowdLayer(recipe="paper", epochs=20, progress=False),
                AggregatedClassifier(recipe="paper", epochs=20, labels="ds", progress=False)):
        est.fit(features, answers)
        assert accuracy(est.predict(test), gold) > 0.6, est


def test_annot_mix_uses_its_benchmark_recipe_and_saves(table, tmp_path):
    answers, features, test, gold = table
    model = AnnotMix(epochs=30, progress=False)
    assert model.get_params()["recipe"] == "benchmark"
    model.fit(features, answers)
    assert accuracy(model.predict(test), gold) > 0.6
    model.save(str(tmp_path / "am"))
    config = json.loads((tmp_path / "am" / "args.json").read_text())
    assert config["recipe"] == "benchmark" and config["train"]["mixup_over"] == "labels"
    loaded = conal.load(str(tmp_path / "am"))
    assert isinstance(loaded, AnnotMix)
    np.testing.assert_array_equal(loaded.predict(test), model.predict(test))


def test_madl_uses_its_benchmark_recipe_and_saves(table, tmp_path):
    answers, features, test, gold = table
    model = MaDL(epochs=30, progress=False)
    assert model.get_params()["recipe"] == "benchmark"
    model.fit(features, answers)
    assert accuracy(model.predict(test), gold) > 0.6
    model.save(str(tmp_path / "madl"))
    config = json.loads((tmp_path / "madl" / "args.json").read_text())
    assert config["model"]["method"] == "madl" and config["model"]["madl"]["emb_dim"] == 16
    loaded = conal.load(str(tmp_path / "madl"))
    assert isinstance(loaded, MaDL)
    np.testing.assert_array_equal(loaded.predict(test), model.predict(test))


def test_geocrowdnet_is_a_stochastic_crowdlayer_with_a_volume_term(table, tmp_path):
    answers, features, test, gold = table
    model = CrowdLayer(recipe="benchmark", epochs=30, confusion="stochastic", regularizer="geo-w",
                       progress=False)
    model.fit(features, answers)
    assert accuracy(model.predict(test), gold) > 0.6
    model.save(str(tmp_path / "geo"))
    config = json.loads((tmp_path / "geo" / "args.json").read_text())
    assert config["train"]["regularizer"] == {"kind": "geo-w", "lambda": 1e-3}
    assert config["model"]["crowd_layer"]["confusion"] == "stochastic"
    loaded = conal.load(str(tmp_path / "geo"))
    assert (loaded.confusion, loaded.regularizer, loaded.reg_lambda) == ("stochastic", "geo-w", 1e-3)
    with pytest.raises(ValueError, match="stochastic"):
        CrowdLayer(recipe="benchmark", epochs=2, regularizer="geo-w", progress=False).fit(features, answers)
    with pytest.raises(ValueError, match="regularizer"):
        CrowdLayer(regularizer="geo", progress=False).fit(features, answers)


# None: the members of the tuned ensemble train side by side on the global pool; 1: one
# after another; 2: on a pool of the fit's own. Each way the stop must reach every thread.
@pytest.fixture
def sigint_raises():
    """Python's own Ctrl-C handler for the test. A process a shell starts in the background
    (`cmd &`, nohup) inherits SIGINT ignored, and Python then installs no handler, so
    `_thread.interrupt_main` would do nothing and the fit would run on: the suite must not
    depend on how it was started."""
    import signal

    before = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, before)


@pytest.mark.parametrize("n_jobs", [None, 1, 2])
def test_ctrl_c_interrupts_a_fit_and_leaves_python_usable(table, n_jobs, sigint_raises):
    answers, features, test, gold = table
    import _thread

    big = CoNAL(recipe="tuned", epochs=100000, n_jobs=n_jobs, progress=False)
    timer = threading.Timer(1.0, _thread.interrupt_main)
    start = time.monotonic()
    timer.start()
    with pytest.raises(KeyboardInterrupt):
        big.fit(features, answers)
    assert time.monotonic() - start < 3.0
    # Still usable.
    CoNAL(recipe="paper", epochs=2, progress=False).fit(features, answers)


def test_progress_line(table, capfd):
    answers, features, test, gold = table
    # stderr is captured, not a terminal: plain lines, a few seconds apart, and the last one.
    CoNAL(recipe="paper", epochs=300, progress=True).fit(features, answers)
    err = capfd.readouterr().err
    lines = err.splitlines()
    assert "\r" not in err and lines[-1].startswith("CoNAL 300/300"), err
    assert 1 <= len(lines) <= 10, err


def test_progress_bar_on_a_terminal(monkeypatch, capsys):
    import sys

    from conal.learning import _Bar

    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)
    bar = _Bar("CoNAL")
    for done in range(1, 6):
        bar(done, 5, f"epoch {done}")
    err = capsys.readouterr().err
    assert err.count("\r") == 5 and "CoNAL [" in err and "5/5" in err


def _fitted_estimators(table):
    answers, features, test, gold = table
    return [
        CoNAL(recipe="paper", epochs=5, progress=False).fit(features, answers),
        CoNAL(recipe="tuned", ensemble=2, epochs=3, progress=False).fit(features, answers),
        CrowdLayer(recipe="paper", epochs=5, kind="vwb", progress=False).fit(features, answers),
        AnnotMix(epochs=3, progress=False).fit(features, answers),
        MaDL(epochs=3, progress=False).fit(features, answers),
        AggregatedClassifier(recipe="paper", epochs=5, labels="ds", progress=False).fit(features, answers),
    ]


def test_every_fitted_estimator_pickles_to_the_same_predictions(table, tmp_path):
    import copy
    import pickle

    import joblib

    answers, features, test, gold = table
    for model in _fitted_estimators(table):
        want = model.predict_proba(test)
        for again in (
            pickle.loads(pickle.dumps(model)),
            copy.deepcopy(model),
            joblib.load(joblib.dump(model, tmp_path / "m.joblib")[0]),
        ):
            assert type(again) is type(model)
            np.testing.assert_array_equal(again.predict_proba(test), want)
            np.testing.assert_array_equal(again.predict(test), model.predict(test))
            assert again.get_params() == model.get_params()


def test_every_crowd_model_reports_its_annotators(table):
    answers, features, test, gold = table
    k, r = 3, 6
    deep = CoNAL(recipe="benchmark", epochs=3, progress=False).fit(features, answers)
    for model in [deep] + _fitted_estimators(table)[2:5]:
        m = model.annotator_confusions_
        assert m.shape == (r, k, k), type(model)
        np.testing.assert_allclose(m.sum(axis=2), 1.0, atol=1e-5)
        stats = model.worker_stats_
        assert list(stats.index) == list(model.workers_)
        assert (stats["labels"] > 0).all() and stats["reliability"].between(0, 1).all()
        want = "mean-over-items" if isinstance(model, (AnnotMix, MaDL)) else "model"
        assert model.annotator_basis_ == want, type(model)
    # CoNAL's raw matrices and their row-softmax, computed by the core.
    assert deep.common_confusion_.shape == (k, k) and deep.worker_confusions_.shape == (r, k, k)
    np.testing.assert_allclose(deep.common_probabilities_.sum(axis=1), 1.0)
    raw = deep.worker_confusions_.astype(np.float64)
    soft = np.exp(raw - raw.max(axis=2, keepdims=True))
    np.testing.assert_allclose(deep.worker_probabilities_, soft / soft.sum(axis=2, keepdims=True), rtol=1e-12)
    assert deep.worker_stats_["omega_mean"].between(0, 1).all()
    # A classifier on aggregated labels has no annotator model.
    plain = _fitted_estimators(table)[-1]
    assert not hasattr(plain, "annotator_confusions_")


def test_a_one_class_crowd_is_refused_for_training_naming_the_class(table):
    answers, features, test, gold = table
    one = answers.assign(label="cat")
    with pytest.raises(ValueError, match=r"at least 2 classes; the crowd gave only \[\"cat\"\]"):
        CoNAL(recipe="paper", epochs=2, progress=False).fit(features, one)


def test_the_linear_head_is_logistic_regression(table, tmp_path):
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    from conal.aggregation import MajorityVote

    answers, features, test, gold = table
    # All labelled tasks train (select="last"), as scikit-learn's fit uses them all; the
    # table has 120 tasks, too few to hold 18 out and still compare.
    model = AggregatedClassifier(recipe="paper", head="linear", select="last", progress=False).fit(features, answers)
    assert model.get_params()["head"] == "linear"
    mine = (model.predict(test) == gold.to_numpy()).mean()
    # scikit-learn's logistic regression on the same majority-vote labels and scaling.
    labels = MajorityVote().fit_predict(answers)
    scaler = StandardScaler().fit(features.loc[labels.index])
    reference = LogisticRegression(max_iter=5000).fit(scaler.transform(features.loc[labels.index]), labels)
    theirs = (reference.predict(scaler.transform(test)) == gold.to_numpy()).mean()
    assert mine >= theirs - 0.05, (mine, theirs)
    model.save(tmp_path / "linear")
    again = conal.load(tmp_path / "linear")
    assert again.head == "linear"
    np.testing.assert_array_equal(again.predict_proba(test), model.predict_proba(test))
    assert CoNAL(recipe="paper", epochs=2, progress=False).fit(features, answers).head is None
    assert conal.load(tmp_path / "linear").get_params()["head"] == "linear"
    with pytest.raises(ValueError, match='head="wide"'):
        AggregatedClassifier(head="wide", progress=False).fit(features, answers)
