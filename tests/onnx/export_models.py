#!/usr/bin/python3
"""Exports the models of snc-import's tests with Debian's python3-torch (torch.onnx.export), with an
input and PyTorch's output for each (NHWC / NF, snc's layouts; as .npy, and as raw float32 .f32 for
the C program; the input as PyTorch has it too, MODEL_input_nchw.npy, for the program of snc compile):

    /usr/bin/python3 tests/onnx/export_models.py OUT_DIR

  resnet18      torchvision's ResNet-18, batch norm kept as nodes (TrainingMode.PRESERVE on an eval model)
  resnet50      torchvision's ResNet-50, eval export: batch norm folded into the convs by the exporter
  bnlenet       the course's BNLeNet (BatchNorm1d after Linear too), dynamic batch (snc-import --batch)
  every_op      a network with every operator snc-import reads: Pad folded into AveragePool (how torch
                1.13 exports count_include_pad=True) and into a Conv, MaxPool with pads, Sigmoid, Tanh,
                a residual Add with a 1x1 shortcut, BatchNorm alone after a pool, GlobalAveragePool,
                Flatten, Gemm, MatMul + Add, Dropout (gone in eval export)
  zoo_blocks    one block of each torchvision family's pattern, torchvision's own classes in a row:
                MobileNetV2's inverted residual (Clip), MobileNetV3's (HardSwish, a HardSigmoid gate),
                EfficientNet's MBConv (SiLU, a Sigmoid gate), ceil-mode AvgPool and MaxPool, a DenseNet
                block (growing Concats), GoogLeNet's Inception (a ceil-mode MaxPool inside), ShuffleNetV2
                units (Slice, channel shuffle) of stride 1 and 2, Inception v3's InceptionE (torch
                flattens its nested Concats), ConvNeXt's LayerNorm2d and block (Transposes, LayerNorm,
                Linear, GELU, layer scale)
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


class ZooBlocks(nn.Module):
    def __init__(self):
        super().__init__()
        from functools import partial
        from importlib import import_module

        from torchvision.models import convnext, densenet, efficientnet, inception, mobilenetv2, mobilenetv3, shufflenetv2
        googlenet = import_module("torchvision.models.googlenet")  # torchvision.models.googlenet is the builder
        bn = partial(nn.BatchNorm2d, eps=1e-3)
        self.layers = nn.Sequential(
            nn.Conv2d(3, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(),
            mobilenetv2.InvertedResidual(16, 16, 1, 6),
            mobilenetv3.InvertedResidual(mobilenetv3.InvertedResidualConfig(16, 3, 48, 24, True, "HS", 2, 1, 1.0), bn),
            efficientnet.MBConv(efficientnet.MBConvConfig(4, 5, 1, 24, 24, 1), 0.2, bn),
            nn.AvgPool2d(3, 2, padding=1, ceil_mode=True, count_include_pad=False),  # 32 -> 17: a last window in the padding
            nn.MaxPool2d(2, 2, ceil_mode=True),                                       # 17 -> 9
            densenet._DenseBlock(3, 24, 2, 8, 0.0),
            googlenet.Inception(48, 16, 16, 24, 8, 8, 8),
            shufflenetv2.InvertedResidual(56, 56, 1),
            shufflenetv2.InvertedResidual(56, 64, 2),
            inception.InceptionE(64),
            nn.Conv2d(2048, 32, 1),
            convnext.LayerNorm2d(32, eps=1e-6),
            convnext.CNBlock(32, 0.5, 0.1),
            nn.AdaptiveAvgPool2d(1), convnext.LayerNorm2d(32, eps=1e-6), nn.Flatten(1), nn.Linear(32, 10))
        with torch.no_grad():
            for module in self.modules():
                if isinstance(module, convnext.CNBlock):
                    module.layer_scale.copy_(0.5 + torch.rand(module.layer_scale.shape))  # not torchvision's 1e-6: tested for real

    def forward(self, x):
        return self.layers(x)


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
    np.save(os.path.join(directory, name + "_input_nchw.npy"), np.ascontiguousarray(x.numpy(), dtype="<f4"))  # for snc compile's program
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
    export(directory, "zoo_blocks", ZooBlocks(), torch.rand(1, 3, 64, 64))


if __name__ == "__main__":
    main(sys.argv[1])
