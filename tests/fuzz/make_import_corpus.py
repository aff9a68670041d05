#!/usr/bin/python3
"""Writes the seed corpus of snc-import's fuzz target (tests/fuzz/corpus/import/) with Debian's
python3-torch: small models, each under 20 KB so that libFuzzer mutates them quickly, that reach
every path of the importer between them: every operator it reads (export_models.py's EveryOp, at
eval and with batch norm kept), a residual block, a dynamic batch, and refused nodes (Concat, a
grouped conv, ceil_mode).

    /usr/bin/python3 tests/fuzz/make_import_corpus.py [OUT_DIR]
"""
import os
import sys
import warnings

import torch
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "onnx"))
from export_models import EveryOp  # noqa: E402


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(2, 4, 3, padding=1, bias=False), nn.BatchNorm2d(4), nn.ReLU())
        self.body = nn.Sequential(nn.Conv2d(4, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.Conv2d(4, 4, 3, padding=1))
        self.head = nn.Linear(4, 3)

    def forward(self, x):
        x = self.stem(x)
        x = torch.relu(self.body(x) + x)
        return self.head(torch.flatten(nn.functional.adaptive_avg_pool2d(x, 1), 1))


class Refused(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Conv2d(4, 4, 3, padding=1, groups=2)
        self.b = nn.Conv2d(4, 4, 1)
        self.pool = nn.MaxPool2d(3, stride=2, ceil_mode=True)

    def forward(self, x):
        return self.pool(torch.cat([self.a(x), self.b(x)], dim=1))


def export(directory, name, model, x, training=torch.onnx.TrainingMode.EVAL, dynamic_batch=False):
    model.eval()
    axes = {"x": {0: "batch"}, "y": {0: "batch"}} if dynamic_batch else None
    path = os.path.join(directory, name + ".onnx")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, x, path, opset_version=13, training=training, input_names=["x"], output_names=["y"],
                          dynamic_axes=axes)
    assert os.path.getsize(path) < 20000, f"{path} is {os.path.getsize(path)} bytes"


def main(directory):
    os.makedirs(directory, exist_ok=True)
    torch.manual_seed(0)
    export(directory, "every_op", EveryOp(), torch.rand(2, 3, 16, 16))
    export(directory, "every_op_batch_norm_kept", EveryOp(), torch.rand(2, 3, 16, 16), training=torch.onnx.TrainingMode.PRESERVE)
    export(directory, "residual", Block(), torch.rand(1, 2, 8, 8), training=torch.onnx.TrainingMode.PRESERVE)
    export(directory, "residual_dynamic_batch", Block(), torch.rand(1, 2, 8, 8), dynamic_batch=True)
    export(directory, "refused", Refused(), torch.rand(1, 4, 8, 8))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "corpus", "import"))
