#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Make Lathe's sample models and the test fixtures that go with them.

Trains two small Fashion-MNIST classifiers (an MLP and a LeNet-5-style CNN
with BatchNorm), exports them to data/samples/*.onnx, and writes reference
inputs, labels, logits and accuracies to tests/fixtures/.

Only regenerating these files needs PyTorch (plus the onnx and numpy Python
packages and Debian's dataset-fashion-mnist); building and testing Lathe
never does, because the outputs are committed.

    /usr/bin/python3 build-aux/make-samples.py [--out-dir DIR]
"""

import argparse
import gzip
import json
import time
import warnings
from pathlib import Path

import numpy as np
import onnx
import torch
from torch import nn

DATA_DIR = Path("/usr/share/datasets/fashion-mnist")

# Preprocessing constants. Keep the strings and the floats in step: the
# strings go into the ONNX metadata, the float32 values are what we compute
# with, exactly as the C engine does: (p / 255.0f - mean) / std.
MEAN_TEXT = "0.2860"
STD_TEXT = "0.3530"
MEAN = np.float32(MEAN_TEXT)
STD = np.float32(STD_TEXT)

LABELS = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
          "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]

SEED = 0
THREADS = 2
BATCH_SIZE = 128
LEARNING_RATE = 1e-3
EVAL_BATCH_SIZE = 1000
N_FIXTURE = 100
OPSET = 13


# ---------------------------------------------------------------- data ----

def read_idx(path, magic, ndim):
    """Read a gzip-compressed IDX file of unsigned bytes into a numpy array."""
    with gzip.open(path, "rb") as f:
        raw = f.read()
    header = np.frombuffer(raw, dtype=">u4", count=1 + ndim)
    if header[0] != magic:
        raise ValueError(f"{path}: magic {header[0]:#010x}, expected {magic:#010x}")
    shape = tuple(int(d) for d in header[1:])
    offset = 4 * (1 + ndim)
    data = np.frombuffer(raw, dtype=np.uint8, offset=offset)
    if data.size != int(np.prod(shape)):
        raise ValueError(f"{path}: {data.size} bytes of data, expected shape {shape}")
    return data.reshape(shape)


def load_split(name):
    """Return (images uint8 [N,28,28], labels uint8 [N]) for 'train' or 't10k'."""
    images = read_idx(DATA_DIR / f"{name}-images-idx3-ubyte.gz", 0x00000803, 3)
    labels = read_idx(DATA_DIR / f"{name}-labels-idx1-ubyte.gz", 0x00000801, 1)
    if images.shape[0] != labels.shape[0]:
        raise ValueError(f"{name}: {images.shape[0]} images but {labels.shape[0]} labels")
    return images, labels


def preprocess(images):
    """uint8 [N,28,28] -> float32 [N,1,28,28], every step in float32."""
    x = images.astype(np.float32) / np.float32(255.0)
    x = (x - MEAN) / STD
    assert x.dtype == np.float32
    return np.ascontiguousarray(x[:, None, :, :])


# -------------------------------------------------------------- models ----

class FashionMLP(nn.Module):
    """LeNet-300-100."""

    def __init__(self):
        super().__init__()
        self.flatten = nn.Flatten()
        self.fc1 = nn.Linear(784, 300)
        self.fc2 = nn.Linear(300, 100)
        self.fc3 = nn.Linear(100, 10)
        self.relu = nn.ReLU()

    def forward(self, x):
        x = self.flatten(x)
        x = self.relu(self.fc1(x))
        x = self.relu(self.fc2(x))
        return self.fc3(x)


class FashionCNN(nn.Module):
    """LeNet-5 with BatchNorm after each convolution."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 5, padding=2)
        self.bn1 = nn.BatchNorm2d(6)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.bn2 = nn.BatchNorm2d(16)
        self.pool = nn.MaxPool2d(2)
        self.relu = nn.ReLU()
        self.flatten = nn.Flatten()
        self.fc1 = nn.Linear(400, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x):
        x = self.pool(self.relu(self.bn1(self.conv1(x))))
        x = self.pool(self.relu(self.bn2(self.conv2(x))))
        x = self.flatten(x)
        x = self.relu(self.fc1(x))
        x = self.relu(self.fc2(x))
        return self.fc3(x)


# ---------------------------------------------------- train & evaluate ----

def predict(model, x, batch_size=EVAL_BATCH_SIZE):
    """Logits as a float32 numpy array, model in eval mode."""
    model.eval()
    out = []
    with torch.no_grad():
        for i in range(0, x.shape[0], batch_size):
            out.append(model(torch.from_numpy(x[i:i + batch_size])).numpy())
    return np.concatenate(out).astype(np.float32, copy=False)


def score(logits, labels):
    """(top-1 correct, top-5 correct); ties go to the lowest index."""
    top1 = np.argmax(logits, axis=1)
    top5 = np.argsort(-logits, axis=1, kind="stable")[:, :5]
    correct = int(np.sum(top1 == labels))
    top5_correct = int(np.sum(np.any(top5 == labels[:, None], axis=1)))
    return correct, top5_correct


def train(name, model, epochs, train_x, train_y, test_x, test_y):
    x = torch.from_numpy(train_x)
    y = torch.from_numpy(train_y.astype(np.int64))
    generator = torch.Generator().manual_seed(SEED)
    optimizer = torch.optim.Adam(model.parameters(), lr=LEARNING_RATE)
    loss_fn = nn.CrossEntropyLoss()
    n = x.shape[0]

    start = time.monotonic()
    for epoch in range(1, epochs + 1):
        model.train()
        order = torch.randperm(n, generator=generator)
        total_loss = 0.0
        train_correct = 0
        for i in range(0, n, BATCH_SIZE):
            idx = order[i:i + BATCH_SIZE]
            xb, yb = x[idx], y[idx]
            optimizer.zero_grad()
            logits = model(xb)
            loss = loss_fn(logits, yb)
            loss.backward()
            optimizer.step()
            total_loss += loss.item() * len(idx)
            train_correct += int((logits.argmax(1) == yb).sum())
        test_correct, _ = score(predict(model, test_x), test_y)
        print(f"{name}: epoch {epoch}/{epochs}  loss {total_loss / n:.4f}  "
              f"train acc {train_correct / n:.4f}  "
              f"test acc {test_correct / len(test_y):.4f}  "
              f"({time.monotonic() - start:.1f} s)", flush=True)
    elapsed = time.monotonic() - start
    print(f"{name}: trained {epochs} epochs in {elapsed:.1f} s", flush=True)
    model.eval()
    return elapsed


# -------------------------------------------------------------- export ----

def export_onnx(model, path, description, allowed_ops):
    model.eval()
    dummy = torch.zeros(1, 1, 28, 28, dtype=torch.float32)
    with warnings.catch_warnings():
        # PRESERVE keeps BatchNormalization as its own node (EVAL would fold it
        # into the Conv); the model is in eval mode, so constant folding
        # cannot touch any learnable parameter and the warning does not apply.
        warnings.filterwarnings("ignore", message="It is recommended that constant folding")
        torch.onnx.export(
            model, dummy, str(path),
            export_params=True,
            opset_version=OPSET,
            training=torch.onnx.TrainingMode.PRESERVE,
            do_constant_folding=True,
            input_names=["input"],
            output_names=["logits"],
            dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}},
        )

    proto = onnx.load(str(path))
    ops = [node.op_type for node in proto.graph.node]
    print(f"{path.name}: ops {ops}")
    print(f"{path.name}: initializers {[t.name for t in proto.graph.initializer]}")
    unexpected = set(ops) - set(allowed_ops)
    if unexpected:
        raise RuntimeError(f"{path.name}: unexpected ops {sorted(unexpected)}")

    onnx.helper.set_model_props(proto, {
        "lathe.mean": MEAN_TEXT,
        "lathe.std": STD_TEXT,
        "lathe.labels": ",".join(LABELS),
    })
    proto.doc_string = description
    onnx.checker.check_model(proto)
    onnx.save(proto, str(path))
    return ops


# ---------------------------------------------------------------- main ----

def make_sample(spec, out_dir, data):
    train_x, train_y, test_x, test_y = data
    name = spec["name"]

    torch.manual_seed(SEED)
    np.random.seed(SEED)
    model = spec["model"]()
    train_seconds = train(name, model, spec["epochs"], train_x, train_y, test_x, test_y)

    onnx_path = out_dir / "data" / "samples" / f"{name}.onnx"
    ops = export_onnx(model, onnx_path, spec["description"], spec["ops"])
    if "check" in spec:
        spec["check"](ops)

    fixtures = out_dir / "tests" / "fixtures"
    logits100 = predict(model, test_x[:N_FIXTURE], batch_size=N_FIXTURE)
    np.save(fixtures / f"{name}-logits{N_FIXTURE}.npy", np.ascontiguousarray(logits100))

    correct, top5_correct = score(predict(model, test_x), test_y)
    total = len(test_y)
    reference = {
        "model": onnx_path.name,
        "data": "fashion-mnist:test",
        "correct": correct,
        "total": total,
        "accuracy": correct / total,
        "top5_correct": top5_correct,
        "mean": float(MEAN_TEXT),
        "std": float(STD_TEXT),
        "torch_version": torch.__version__,
        "seed": SEED,
        "epochs": spec["epochs"],
    }
    with open(fixtures / f"{name}-reference.json", "w", encoding="utf-8") as f:
        json.dump(reference, f, indent=2)
        f.write("\n")
    print(f"{name}: test accuracy {correct}/{total} = {correct / total:.4f}, "
          f"top-5 {top5_correct}/{total}", flush=True)
    return correct, train_seconds


def check_cnn_ops(ops):
    n_bn = ops.count("BatchNormalization")
    if n_bn != 2:
        raise RuntimeError(f"fashion-cnn.onnx: {n_bn} BatchNormalization nodes, expected 2")


def main():
    default_root = Path(__file__).resolve().parent.parent
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out-dir", type=Path, default=default_root,
                        help="root under which data/samples and tests/fixtures are "
                             "written (default: the repository root)")
    parser.add_argument("--mlp-epochs", type=int, default=8)
    parser.add_argument("--cnn-epochs", type=int, default=6)
    args = parser.parse_args()

    torch.set_num_threads(THREADS)
    out_dir = args.out_dir
    (out_dir / "data" / "samples").mkdir(parents=True, exist_ok=True)
    fixtures = out_dir / "tests" / "fixtures"
    fixtures.mkdir(parents=True, exist_ok=True)

    train_images, train_y = load_split("train")
    test_images, test_y = load_split("t10k")
    train_x = preprocess(train_images)
    test_x = preprocess(test_images)
    np.save(fixtures / f"fashion-input{N_FIXTURE}.npy", test_x[:N_FIXTURE])
    np.save(fixtures / f"fashion-labels{N_FIXTURE}.npy", test_y[:N_FIXTURE].astype(np.uint8))
    data = (train_x, train_y, test_x, test_y)

    specs = [
        {
            "name": "fashion-mlp",
            "model": FashionMLP,
            "epochs": args.mlp_epochs,
            "ops": {"Flatten", "Reshape", "Gemm", "Relu"},
            "description": "Lathe sample: LeNet-300-100 MLP for Fashion-MNIST "
                           "(input [N,1,28,28], (p/255 - 0.2860)/0.3530; 10 logits).",
        },
        {
            "name": "fashion-cnn",
            "model": FashionCNN,
            "epochs": args.cnn_epochs,
            "ops": {"Conv", "BatchNormalization", "Relu", "MaxPool",
                    "Flatten", "Reshape", "Gemm"},
            "check": check_cnn_ops,
            "description": "Lathe sample: LeNet-5 CNN with BatchNorm for Fashion-MNIST "
                           "(input [N,1,28,28], (p/255 - 0.2860)/0.3530; 10 logits).",
        },
    ]
    results = [(spec["name"], *make_sample(spec, out_dir, data)) for spec in specs]

    print("summary:")
    for name, correct, seconds in results:
        print(f"  {name}: {correct}/{len(test_y)} correct, trained in {seconds:.1f} s")


if __name__ == "__main__":
    main()
