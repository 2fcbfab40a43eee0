#!/usr/bin/env python3
"""Writes the fuzz seed corpus: tests/fuzz/corpus/config (shipped configs, a few variants, --set
overrides after NUL bytes) and tests/fuzz/corpus/idx (tiny IDX files, raw and gzip). Deterministic.

Usage: make_seeds.py [OUT_DIR]   (default: tests/fuzz/corpus next to this script)
Regression seeds (inputs that once found a bug) are named regress-* and are left alone.
"""
import gzip, importlib.util, io, json, os, random, shutil, struct, sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

# Variants reaching optimizers, schedulers and layer types the shipped configs do not use.
CONFIG_VARIANTS = {
    "sgd_multistep.json": {
        "model": {"type": "mlp", "hidden": [16, 8], "activation": "leaky_relu", "dropout": 0.1},
        "train": {"optimizer": {"name": "sgd", "lr": 0.1, "momentum": 0.9, "nesterov": True},
                  "scheduler": {"name": "multistep", "milestones": [2, 4], "gamma": 0.5},
                  "early_stopping": {"patience": 2, "min_delta": 0.001}, "checkpoint_every": "100 steps"},
    },
    "layers_rmsprop_step.json": {
        "data": {"dataset": "mnist", "limit_train": 100, "root": "data/x"},
        "model": {"layers": [{"type": "avgpool2d", "kernel_size": 2, "stride": 2}, {"type": "batchnorm2d"},
                             {"type": "flatten"}, {"type": "linear", "out_features": 32, "bias": False},
                             {"type": "batchnorm1d"}, {"type": "gelu"}, {"type": "tanh"}, {"type": "sigmoid"},
                             {"type": "leaky_relu", "negative_slope": 0.2}, {"type": "linear", "out_features": 10}]},
        "train": {"optimizer": {"name": "rmsprop", "alpha": 0.9, "eps": 1e-7},
                  "scheduler": {"name": "step", "step_size": 2, "gamma": 0.7},
                  "label_smoothing": 0.1, "grad_clip": 1.0, "device": "cuda:0", "threads": 2},
    },
    "adagrad_exponential.json": {
        "train": {"optimizer": {"name": "adagrad", "lr_decay": 0.01},
                  "scheduler": {"name": "exponential", "gamma": 0.9}, "device": "cpu"},
    },
    "adam_cosine.json": {
        "train": {"optimizer": {"name": "adam", "betas": [0.8, 0.99], "amsgrad": True},
                  "scheduler": {"name": "cosine", "warmup_epochs": 0.5, "min_lr": 1e-5},
                  "checkpoint_every": "2 epochs"},
    },
}

# Config text, then --set expressions, NUL-separated (the layout fuzz_config.cpp expects).
OVERRIDE_SEEDS = {
    "tiny_set.bin": ("tiny.json", ["train.epochs=3", "model.hidden=[32,16]", "run.name=x"]),
    "cnn_set.bin": ("mnist_cnn.json", ["model.layers.0.out_channels=16", 'train.optimizer={"name":"sgd","lr":0.1}']),
}


def write(path, data):
    with open(path, "wb") as f:
        f.write(data)


def gz(data):
    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb", mtime=0) as f:
        f.write(data)
    return buf.getvalue()


def idx_images(n, rows, cols, rng):
    return struct.pack(">IIII", 2051, n, rows, cols) + bytes(rng.randrange(256) for _ in range(n * rows * cols))


def idx_labels(labels):
    return struct.pack(">II", 2049, len(labels)) + bytes(labels)


def make_config_seeds(out):
    for name in sorted(os.listdir(os.path.join(ROOT, "configs"))):
        shutil.copy(os.path.join(ROOT, "configs", name), os.path.join(out, name))
    for name, doc in CONFIG_VARIANTS.items():
        write(os.path.join(out, name), json.dumps(doc, indent=1).encode())
    for name, (config, sets) in OVERRIDE_SEEDS.items():
        with open(os.path.join(ROOT, "configs", config), "rb") as f:
            write(os.path.join(out, name), b"\0".join([f.read()] + [s.encode() for s in sets]))
    write(os.path.join(out, "malformed.json"), b'{\n  "run": {"name": "x",},\n}\n')


def make_idx_seeds(out):
    rng = random.Random(0)
    spec = importlib.util.spec_from_file_location("make_idx", os.path.join(ROOT, "tests", "fixtures", "make_idx.py"))
    make_idx = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(make_idx)
    small_images, labels = idx_images(3, 4, 5, rng), idx_labels([0, 9, 3])
    write(os.path.join(out, "images_3x4x5.idx"), small_images)
    write(os.path.join(out, "images_3x4x5.idx.gz"), gz(small_images))
    write(os.path.join(out, "labels_3.idx"), labels)
    write(os.path.join(out, "labels_3.idx.gz"), gz(labels))
    write(os.path.join(out, "images_mnist_2.idx.gz"), gz(make_idx.images([1, 7], rng)))  # 28x28, as in MNIST
    write(os.path.join(out, "labels_two_members.idx.gz"), gz(labels[:6]) + gz(labels[6:]))  # concatenated gzip


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "corpus")
    for sub, make in (("config", make_config_seeds), ("idx", make_idx_seeds)):
        os.makedirs(os.path.join(out, sub), exist_ok=True)
        make(os.path.join(out, sub))


if __name__ == "__main__":
    main()
