#!/usr/bin/python3
"""The reference for snc's trainers: the course's BNLeNet (or LeNet) trained by PyTorch as d2l does
it (Xavier-uniform init, SGD, batch 128, shuffled, last incomplete batch dropped), on Debian's
Fashion-MNIST. Prints each epoch's seconds and test accuracy.

    /usr/bin/python3 bench/torch_train.py [--epochs E] [--lr LR] [--threads T] [--seed N] [--lenet]

With --resnet18-steps S it times S training steps of the course's ResNet-18 instead (batch 128,
images resized to 96x96 as d2l does, before the clock starts), after one untimed step, and prints
"training: S steps in ... s, ... ms per step".
"""
import argparse
import gzip
import os
import sys
import time

import numpy as np
import torch
from torch import nn

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures"))
from make_fixtures import bnlenet  # noqa: E402

ROOT = "/usr/share/datasets/fashion-mnist"


def load(split):
    with gzip.open(os.path.join(ROOT, f"{split}-images-idx3-ubyte.gz")) as f:
        images = np.frombuffer(f.read(), dtype=np.uint8, offset=16).reshape(-1, 1, 28, 28)
    with gzip.open(os.path.join(ROOT, f"{split}-labels-idx1-ubyte.gz")) as f:
        labels = np.frombuffer(f.read(), dtype=np.uint8, offset=8)
    return torch.from_numpy(images.astype(np.float32) / 255), torch.from_numpy(labels.astype(np.int64))


def lenet():
    return nn.Sequential(
        nn.Conv2d(1, 6, kernel_size=5, padding=2), nn.Sigmoid(), nn.AvgPool2d(kernel_size=2, stride=2),
        nn.Conv2d(6, 16, kernel_size=5), nn.Sigmoid(), nn.AvgPool2d(kernel_size=2, stride=2),
        nn.Flatten(), nn.Linear(400, 120), nn.Sigmoid(), nn.Linear(120, 84), nn.Sigmoid(), nn.Linear(84, 10))


def time_resnet18_steps(steps, lr):
    """The course's ResNet-18 training step at batch 128 on 96x96 images, as snc-train-d2l-resnet18."""
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import torch_models  # noqa: E402 (bench/, beside this file)
    model = torch_models.d2l_resnet18()
    model.train()
    images, labels = load("train")
    batch = 128
    count = (steps + 1) * batch
    # torchvision's Resize on a tensor: bilinear, half-pixel centres; upsampling needs no antialias.
    x = nn.functional.interpolate(images[:count], size=(96, 96), mode="bilinear", align_corners=False)
    y = labels[:count]
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)

    def step(b):
        loss = nn.functional.cross_entropy(model(x[b * batch:(b + 1) * batch]), y[b * batch:(b + 1) * batch])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return loss.item()

    step(0)  # untimed: PyTorch's first step builds its oneDNN primitives
    start = time.perf_counter()
    for b in range(1, steps + 1):
        step(b)
    seconds = time.perf_counter() - start
    print(f"training: {steps} steps in {seconds:.2f} s, {1e3 * seconds / steps:.1f} ms per step", flush=True)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--lr", type=float, default=0.1)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--lenet", action="store_true")
    parser.add_argument("--resnet18-steps", type=int, default=0, help="time this many course ResNet-18 steps instead")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    if args.resnet18_steps:
        time_resnet18_steps(args.resnet18_steps, args.lr)
        return
    model = lenet() if args.lenet else bnlenet()
    for module in model.modules():
        if isinstance(module, (nn.Conv2d, nn.Linear)):
            nn.init.xavier_uniform_(module.weight)
            nn.init.zeros_(module.bias)
    train_x, train_y = load("train")
    test_x, test_y = load("t10k")
    optimizer = torch.optim.SGD(model.parameters(), lr=args.lr)
    batch = 128
    for epoch in range(1, args.epochs + 1):
        model.train()
        order = torch.randperm(len(train_x))
        start = time.perf_counter()
        total = 0.0
        for b in range(len(train_x) // batch):
            index = order[b * batch:(b + 1) * batch]
            loss = nn.functional.cross_entropy(model(train_x[index]), train_y[index])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item()
        seconds = time.perf_counter() - start
        model.eval()
        with torch.no_grad():
            accuracy = (model(test_x).argmax(1) == test_y).float().mean().item()
        print(f"epoch {epoch}: train loss {total / (len(train_x) // batch):.4f}, test accuracy {accuracy:.4f}, "
              f"{seconds:.2f} s", flush=True)


if __name__ == "__main__":
    main()
