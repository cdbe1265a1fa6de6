"""Reads TensorBoard event files with TensorBoard's own EventAccumulator and prints, as one
JSON object, every scalar tag with its steps and values. Used by tests/report.rs."""
import json
import sys

from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

acc = EventAccumulator(sys.argv[1], size_guidance={"scalars": 0})
acc.Reload()
out = {
    tag: [[e.step, e.value] for e in acc.Scalars(tag)]
    for tag in acc.Tags()["scalars"]
}
print(json.dumps(out))
