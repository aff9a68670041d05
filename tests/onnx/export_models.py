#!/usr/bin/python3
"""Exports the models of snc-import's tests with Debian's python3-torch (torch.onnx.export), with an
input and PyTorch's output for each (NHWC / NF, snc's layouts; as .npy, and as raw float32 .f32 for
the C program):

    /usr/bin/python3 tests/onnx/export_models.py OUT_DIR

  resnet18      torchvision's ResNet-18, batch norm kept as nodes (TrainingMode.PRESERVE on an eval model)
  resnet50      torchvision's ResNet-50, eval export: batch norm folded into the convs by the exporter
  bnlenet       the course's BNLeNet (BatchNorm1d after Linear too), dynamic batch (snc-import --batch)
  every_op      a network with every operator snc-import reads: Pad folded into AveragePool (how torch
                1.13 exports count_include_pad=True) and into a Conv, MaxPool with pads, Sigmoid, Tanh,
                a residual Add with a 1x1 shortcut, BatchNorm alone after a pool, GlobalAveragePool,
                Flatten, Gemm, MatMul + Add, Dropout (gone in eval export)
Batch-norm statistics are randomized so that folding them is tested for real.
"""
import os
import sys
import warnings

import numpy as np
import torch
import torch.nn.functional as F
import torchvision
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "fixtures"))
from make_fixtures import bnlenet, randomize_batch_norm  # noqa: E402


class EveryOp(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, padding=1)
        self.pool = nn.MaxPool2d(3, stride=2, padding=1)
        self.bn = nn.BatchNorm2d(8)
        self.body = nn.Sequential(nn.Conv2d(8, 12, 3, padding=1, bias=False), nn.BatchNorm2d(12), nn.Tanh(),
                                  nn.Conv2d(12, 12, 3, padding=1))
        self.shortcut = nn.Conv2d(8, 12, 1)
        self.average = nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=True)
        self.padded = nn.Conv2d(12, 6, 3)
        self.fc = nn.Linear(6, 16)
        self.drop = nn.Dropout(0.3)
        self.weight = nn.Parameter(torch.randn(16, 5) * 0.3)
        self.bias = nn.Parameter(torch.randn(5) * 0.1)

    def forward(self, x):
        x = self.bn(self.pool(torch.sigmoid(self.stem(x))))
        x = torch.relu(self.body(x) + self.shortcut(x))
        x = self.padded(F.pad(self.average(x), (1, 2, 1, 0)))  # an explicit zero Pad before a Conv
        x = torch.flatten(F.adaptive_avg_pool2d(x, 1), 1)
        x = self.drop(torch.tanh(self.fc(x)))
        return x @ self.weight + self.bias


def export(directory, name, model, x, training=torch.onnx.TrainingMode.EVAL, dynamic_batch=False):
    generator = torch.Generator().manual_seed(7)
    randomize_batch_norm(model, generator)
    model.eval()
    with torch.no_grad():
        y = model(x)
    axes = {"x": {0: "batch"}, "y": {0: "batch"}} if dynamic_batch else None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, x, os.path.join(directory, name + ".onnx"), opset_version=13, training=training,
                          input_names=["x"], output_names=["y"], dynamic_axes=axes)
    nhwc = x.permute(0, 2, 3, 1) if x.dim() == 4 else x
    for suffix, values in (("_input", nhwc.contiguous().numpy()), ("_expected", y.numpy())):
        values = np.ascontiguousarray(values, dtype="<f4")
        np.save(os.path.join(directory, name + suffix + ".npy"), values)
        values.tofile(os.path.join(directory, name + suffix + ".f32"))


def main(directory):
    os.makedirs(directory, exist_ok=True)
    torch.manual_seed(0)
    export(directory, "resnet18", torchvision.models.resnet18(), torch.rand(1, 3, 224, 224),
           training=torch.onnx.TrainingMode.PRESERVE)
    export(directory, "resnet50", torchvision.models.resnet50(), torch.rand(1, 3, 224, 224))
    export(directory, "bnlenet", bnlenet(), torch.rand(4, 1, 28, 28), dynamic_batch=True)
    export(directory, "every_op", EveryOp(), torch.rand(2, 3, 16, 16))


if __name__ == "__main__":
    main(sys.argv[1])
