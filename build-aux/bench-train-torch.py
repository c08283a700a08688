#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Training throughput, Lathe against PyTorch, side by side in one run.

Runs Lathe's bench-train (path given as the first argument), which trains
the students of the sample MLP and CNN for one epoch over the first 20000
Fashion-MNIST training samples (batch 128, Adam, cosine schedule, hard
labels) and prints their weight shapes, then trains the same architectures
on the same data with the same optimiser, schedule and batch in PyTorch
with 2 threads, and prints samples per second for both.

The PyTorch half is skipped (with a note) when PyTorch is not installed.

    /usr/bin/python3 build-aux/bench-train-torch.py build/tests/bench/bench-train
"""

import gzip
import math
import os
import subprocess
import sys
import time
from pathlib import Path

DATA_DIR = Path(os.environ.get("LATHE_FASHION_MNIST_DIR", "/usr/share/datasets/fashion-mnist"))
SAMPLES = 20000
BATCH = 128
THREADS = 2
MEAN, STD = 0.2860, 0.3530


def run_lathe(binary):
    env = dict(os.environ, OPENBLAS_NUM_THREADS=str(THREADS))
    out = subprocess.run([binary], env=env, check=True, capture_output=True, text=True).stdout
    shapes, results = {}, {}
    for line in out.splitlines():
        parts = line.split()
        if parts[:1] == ["SHAPE"]:
            dims = [int(d) for d in parts[3].strip("[]").split(",")]
            shapes.setdefault(parts[1], {})[parts[2]] = dims
        elif parts[:2] == ["RESULT", "lathe"]:
            results[(parts[2], parts[3])] = float(parts[4])
    return shapes, results


def load_train():
    import numpy as np
    with gzip.open(DATA_DIR / "train-images-idx3-ubyte.gz", "rb") as f:
        images = np.frombuffer(f.read(), dtype=np.uint8, offset=16).reshape(-1, 1, 28, 28)[:SAMPLES]
    with gzip.open(DATA_DIR / "train-labels-idx1-ubyte.gz", "rb") as f:
        labels = np.frombuffer(f.read(), dtype=np.uint8, offset=8)[:SAMPLES]
    x = ((images.astype(np.float32) / np.float32(255.0)) - np.float32(MEAN)) / np.float32(STD)
    return x, labels.astype(np.int64)


def build(torch, name, shapes):
    nn = torch.nn
    s = shapes[name]
    if name == "mlp":
        return nn.Sequential(
            nn.Flatten(),
            nn.Linear(s["fc1.weight"][1], s["fc1.weight"][0]), nn.ReLU(),
            nn.Linear(s["fc2.weight"][1], s["fc2.weight"][0]), nn.ReLU(),
            nn.Linear(s["fc3.weight"][1], s["fc3.weight"][0]))
    # BatchNormalization is folded into the convolutions of Lathe's student
    c1, c2 = s["conv1.weight"][0], s["conv2.weight"][0]
    return nn.Sequential(
        nn.Conv2d(1, c1, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(c1, c2, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(s["fc1.weight"][1], s["fc1.weight"][0]), nn.ReLU(),
        nn.Linear(s["fc2.weight"][1], s["fc2.weight"][0]), nn.ReLU(),
        nn.Linear(s["fc3.weight"][1], s["fc3.weight"][0]))


def run_torch(torch, name, shapes, x, y):
    torch.manual_seed(0)
    model = build(torch, name, shapes)
    steps = SAMPLES // BATCH
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda k: 0.5 * (1 + math.cos(math.pi * k / steps)))
    loss_fn = torch.nn.CrossEntropyLoss()
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    best = 0.0
    for _ in range(2):
        order = torch.randperm(SAMPLES)
        model.train()
        t0 = time.perf_counter()
        for k in range(steps):
            idx = order[k * BATCH:(k + 1) * BATCH]
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(xt[idx]), yt[idx])
            loss.backward()
            opt.step()
            sched.step()
        best = max(best, steps * BATCH / (time.perf_counter() - t0))
    return best


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    shapes, lathe = run_lathe(sys.argv[1])
    try:
        import torch
    except ImportError:
        torch = None
    print(f"Training throughput, samples/s ({SAMPLES} Fashion-MNIST samples, batch {BATCH}, "
          f"Adam + cosine, hard labels, {THREADS} threads)")
    print(f"{'student':8} {'Lathe':>10} {'PyTorch':>10} {'ratio':>7}   Lathe with distillation")
    if torch is not None:
        torch.set_num_threads(THREADS)
        x, y = load_train()
    for name in ("mlp", "cnn"):
        ours = lathe[(name, "hard-labels")]
        theirs = run_torch(torch, name, shapes, x, y) if torch is not None else None
        ratio = f"{ours / theirs:6.2f}x" if theirs else "      -"
        theirs_text = f"{theirs:10.0f}" if theirs else "   skipped"
        print(f"{name:8} {ours:10.0f} {theirs_text} {ratio}   {lathe[(name, 'distill')]:.0f}")
    if torch is None:
        print("PyTorch is not installed (python3-torch): its half was skipped.")


if __name__ == "__main__":
    main()
