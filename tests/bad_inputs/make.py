"""Writes the bad-input corpus used by tests/table.rs: one folder per case with the input files
and case.json = {"args": [...conal train flags...], "error": "fragment the one-line error must
contain"}. Run from this folder: python3 make.py (standard library only)."""
import json
import os
import shutil
import struct

HERE = os.path.dirname(os.path.abspath(__file__))

GOOD_ANSWERS = "task,worker,label\na,w1,cat\na,w2,dog\nb,w1,dog\nc,w2,cat\n"
GOOD_FEATURES = "a,0.5,1.0\nb,1.5,-2.0\nc,0.0,0.25\n"
BASE = ["--answers", "answers.csv", "--features", "features.csv"]


def npy(dtype, shape, payload, fortran=False):
    header = "{'descr': '%s', 'fortran_order': %s, 'shape': (%s), }" % (
        dtype, "True" if fortran else "False", ", ".join(map(str, shape)) + ("," if len(shape) == 1 else ""))
    pad = (64 - (10 + len(header) + 1) % 64) % 64
    header = header + " " * pad + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode() + payload


def f32(values):
    return b"".join(struct.pack("<f", v) for v in values)


CASES = {
    "unknown_task": ({"answers.csv": GOOD_ANSWERS + "z,w1,cat\n"}, BASE, 'answers.csv:6: task "z" has no features in features.csv'),
    "duplicate_task_in_features": ({"features.csv": GOOD_FEATURES + "b,1,1\n"}, BASE, 'features.csv: task id "b" appears twice'),
    "duplicate_pair": ({"answers.csv": GOOD_ANSWERS + "a,w1,dog\n"}, BASE, 'answers.csv:6: worker "w1" already labelled task "a" on line 2'),
    "label_outside_classes": ({}, BASE + ["--classes", "cat,bird"], 'answers.csv:3: label "dog" is not one of the classes'),
    "nan_feature": ({"features.csv": "a,0.5,1.0\nb,NaN,-2.0\nc,0,0\n"}, BASE, "features.csv:2: feature 1 is not finite (NaN)"),
    "inf_feature": ({"features.csv": "a,0.5,1.0\nb,1,inf\nc,0,0\n"}, BASE, "features.csv:2: feature 2 is not finite (inf)"),
    "npy_rows_vs_tasks": ({"features.npy": npy("<f4", (2, 2), f32([1, 2, 3, 4])), "tasks.txt": "a\nb\nc\n"},
                          ["--answers", "answers.csv", "--features", "features.npy", "--tasks", "tasks.txt"],
                          "tasks.txt: 3 task ids for the 2 feature rows of features.npy"),
    "ragged_answers": ({"answers.csv": "task,worker,label\na,w1,cat\na,w2\n"}, BASE, "answers.csv:3: expected 3 fields, as in the first row, found 2"),
    "ragged_features": ({"features.csv": "a,0.5,1.0\nb,1.5\nc,0,0\n"}, BASE, "features.csv:2: expected 3 fields, as in the first row, found 2"),
    "empty_answers": ({"answers.csv": ""}, BASE, "answers.csv: file is empty"),
    "empty_features": ({"features.csv": ""}, BASE, "features.csv: no feature rows"),
    "wrong_delimiter": ({"answers.csv": GOOD_ANSWERS.replace(",", ";")}, BASE, "is the delimiter right"),
    "non_utf8_answers": ({"answers.csv": b"task,worker,label\na,w1,cat\na,w\xff\xfe,dog\n"}, BASE, "answers.csv:3: not valid UTF-8 text"),
    "truncated_npy": ({"features.npy": npy("<f4", (3, 2), f32([1, 2, 3, 4, 5]))}, ["--answers", "answers.csv", "--features", "features.npy", "--tasks", "tasks.txt"], "features.npy: truncated: the header promises 24 data bytes, the file has 20"),
    "int_npy_features": ({"features.npy": npy("<i8", (3, 1), struct.pack("<3q", 1, 2, 3))}, ["--answers", "answers.csv", "--features", "features.npy", "--tasks", "tasks.txt"], "features.npy: expected float features (float32 or float64), found an integer array"),
    "fortran_npy": ({"features.npy": npy("<f4", (3, 2), f32([1, 2, 3, 4, 5, 6]), fortran=True)}, ["--answers", "answers.csv", "--features", "features.npy", "--tasks", "tasks.txt"], "array is in Fortran order"),
    "big_endian_npy": ({"features.npy": npy(">f4", (3, 2), f32([1, 2, 3, 4, 5, 6]))}, ["--answers", "answers.csv", "--features", "features.npy", "--tasks", "tasks.txt"], 'dtype ">f4" is not supported'),
    "missing_worker_column": ({"answers.csv": "task,annotator,label\na,w1,cat\n"}, BASE, 'answers.csv:1: expected a column "worker" in the header'),
    "peerannot_bad_json": ({"answers.json": '{"a": {"w1": 0,\n "w2": }}'}, ["--answers", "answers.json", "--features", "features.csv"], "answers.json:2: not valid JSON"),
    "peerannot_bad_label": ({"answers.json": '{"a": {"w1": [1, 2]}}'}, ["--answers", "answers.json", "--features", "features.csv"], 'answers.json: task "a", worker "w1": expected an integer or string label'),
    "matrix_bad_value": ({"answers.txt": "0 -1\n-3 1\n1 1\n", "tasks.txt": "a\nb\nc\n"}, ["--answers", "answers.txt", "--features", "features.csv", "--tasks", "tasks.txt"], "answers.txt:2: column 0: expected -1 (no label) or a class"),
    "matrix_ragged": ({"answers.txt": "0 -1\n1\n1 1\n", "tasks.txt": "a\nb\nc\n"}, ["--answers", "answers.txt", "--features", "features.csv", "--tasks", "tasks.txt"], "answers.txt:2: expected 2 columns like the first row, found 1"),
    "gold_unknown_task": ({"gold.csv": "task,label\na,cat\nq,dog\n"}, BASE + ["--gold", "gold.csv"], 'gold.csv:3: task "q" has no features'),
    "gold_bad_label": ({"gold.csv": "task,label\na,cow\n"}, BASE + ["--gold", "gold.csv"], 'gold.csv:2: label "cow" is not one of the classes'),
    "missing_answers_file": ({}, ["--answers", "nope.csv", "--features", "features.csv"], "nope.csv: No such file"),
    "unknown_extension": ({"answers.dat": GOOD_ANSWERS}, ["--answers", "answers.dat", "--features", "features.csv"], "answers.dat: cannot tell the layout from the extension"),
    "non_numeric_feature": ({"features.csv": "a,0.5,1.0\nb,1.5,x\nc,0,0\n"}, BASE, 'features.csv:2: feature 2: expected a number, found "x"'),
    "empty_worker_id": ({"answers.csv": "task,worker,label\na,w1,cat\nb,,dog\n"}, BASE, "answers.csv:3: empty worker id"),
    "test_gold_unknown_task": ({"test.csv": "t1,1,2\n", "test_gold.csv": "task,label\nt2,cat\n"}, BASE + ["--test-features", "test.csv", "--test-gold", "test_gold.csv"], 'test_gold.csv:2: task "t2" is not in test.csv'),
    "test_feature_width": ({"test.csv": "t1,1,2,3\n", "test_gold.csv": "task,label\nt1,cat\n"}, BASE + ["--test-features", "test.csv", "--test-gold", "test_gold.csv"], "test.csv: 3 features per item, the model was trained on 2"),
}


def main():
    for name in os.listdir(HERE):
        if os.path.isdir(os.path.join(HERE, name)):
            shutil.rmtree(os.path.join(HERE, name))
    for name, (files, args, error) in CASES.items():
        d = os.path.join(HERE, name)
        os.makedirs(d)
        all_files = {"answers.csv": GOOD_ANSWERS, "features.csv": GOOD_FEATURES, "tasks.txt": "a\nb\nc\n"}
        all_files.update(files)
        for fname, content in all_files.items():
            mode = "wb" if isinstance(content, bytes) else "w"
            with open(os.path.join(d, fname), mode) as f:
                f.write(content)
        with open(os.path.join(d, "case.json"), "w") as f:
            json.dump({"args": args, "error": error}, f, indent=1)
            f.write("\n")
    print(len(CASES), "cases")


if __name__ == "__main__":
    main()
