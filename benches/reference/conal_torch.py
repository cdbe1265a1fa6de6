"""Our own PyTorch implementation of the model and loss `conal bench` trains, for a side-by-side
speed comparison (benches/compare.sh). Not part of the product.

Same shapes, same model (the MLP heads of the authors' code, CoNAL's auxiliary network and
2·I-initialised common and individual confusion matrices), same loss (cross-entropy of the
observed labels only, computed for the observed (item, worker) pairs, minus λ Σ_r ‖W_r − W_g‖),
same optimiser (Adam, lr 1e-2, eps 1e-8), same batch sizes. Prints one JSON object.
"""
import argparse
import json
import resource
import time

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

SHAPES = {
    # items, features, workers, classes, labels per item, batch, head
    "music": (700, 124, 44, 10, 4.21, 1024, "music"),
    "labelme": (10_000, 8_192, 59, 8, 2.55, 128, "labelme"),
    "million": (1_000_000, 64, 2_000, 10, 3.0, 1024, "labelme"),
}


class Conal(nn.Module):
    def __init__(self, d, r, k, head):
        super().__init__()
        self.head = head
        emb = 80 if head == "music" else 20
        if head == "music":
            self.bn_in = nn.BatchNorm1d(d, affine=False)
            self.bn_hidden = nn.BatchNorm1d(128, affine=False)
        self.hidden = nn.Linear(d, 128)
        self.out = nn.Linear(128, k)
        self.drop = nn.Dropout(0.5)
        self.inst1 = nn.Linear(d, 128)
        self.inst2 = nn.Linear(128, emb)
        self.worker = nn.Linear(r, emb)
        self.common = nn.Parameter(2 * torch.eye(k))
        self.individual = nn.Parameter(2 * torch.eye(k).repeat(r, 1, 1))

    def forward(self, x, items, workers):
        h = self.bn_in(x) if self.head == "music" else x
        h = self.drop(F.relu(self.hidden(h)))
        if self.head == "music":
            h = self.bn_hidden(h)
        p = F.softmax(self.out(h), dim=1)
        v = self.inst2(self.inst1(x))
        if self.head != "music":
            v = F.normalize(v)
        u = F.normalize(self.worker.weight.t() + self.worker.bias)
        omega = torch.sigmoid((v[items] * u[workers]).sum(1, keepdim=True))
        po = p[items]
        common = po @ self.common
        indiv = torch.bmm(po.unsqueeze(1), self.individual[workers]).squeeze(1)
        return omega * common + (1 - omega) * indiv


def generate(shape, seed):
    n, d, r, k, per, _, _ = shape
    rng = np.random.default_rng(seed)
    x = torch.from_numpy(rng.standard_normal((n, d), dtype=np.float32))
    counts = np.floor(per) + (rng.random(n) < per - np.floor(per))
    items, workers = [], []
    for i, c in enumerate(counts.astype(int)):
        ws = rng.choice(r, size=min(max(c, 1), r), replace=False)
        items.extend([i] * len(ws))
        workers.extend(ws)
    items = np.array(items)
    labels = rng.integers(0, k, len(items))
    return x, items, np.array(workers), labels


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--shape", choices=SHAPES, required=True)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    shape = SHAPES[a.shape]
    n, d, r, k, _, batch, head = shape
    x, items, workers, labels = generate(shape, a.seed)
    # Labels grouped by item, for batch assembly.
    order = np.argsort(items, kind="stable")
    items, workers, labels = items[order], workers[order], labels[order]
    starts = np.searchsorted(items, np.arange(n + 1))
    model = Conal(d, r, k, head)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2, eps=1e-8)
    times = []
    for epoch in range(a.epochs):
        t = time.perf_counter()
        perm = np.random.default_rng(a.seed + epoch).permutation(n)
        for b in range(0, n, batch):
            rows = perm[b:b + batch]
            if len(rows) < 2:
                continue
            lo, hi = starts[rows], starts[rows + 1]
            idx = np.concatenate([np.arange(l, h) for l, h in zip(lo, hi)])
            local = np.repeat(np.arange(len(rows)), hi - lo)
            xb = x[torch.from_numpy(rows)]
            logits = model(xb, torch.from_numpy(local), torch.from_numpy(workers[idx]))
            loss = F.cross_entropy(logits, torch.from_numpy(labels[idx]))
            diff = (model.individual - model.common.unsqueeze(0)).reshape(r, -1)
            loss = loss - 1e-5 * diff.norm(dim=1).sum()
            opt.zero_grad()
            loss.backward()
            opt.step()
        times.append((time.perf_counter() - t) * 1e3)
    print(json.dumps({
        "framework": f"pytorch {torch.__version__}",
        "shape": a.shape,
        "threads": a.threads,
        "epoch_ms": times,
        "median_epoch_ms": float(np.median(times)),
        "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
    }))


if __name__ == "__main__":
    main()
