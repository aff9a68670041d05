"""The benchmark's networks in PyTorch, each the same function as its snc declaration, with the
parameter names snc expects (so one state_dict serves snc, PyTorch and, exported, ONNX Runtime).

  torchvision ResNet-18   torchvision.models.resnet18, as is
  the course's ResNet-18  d2l's ResNet with Keras' padding='same' (TensorFlow puts the odd padding
                          pixel bottom/right; PyTorch's padding=k//2 would not), named as snc's
                          nets::d2l::ResNet18: 0.0.weight, 1.0.conv1.weight, ..., 5.1.weight
  BNLeNet                 the course's, as one nn.Sequential (tests/fixtures/make_fixtures.py)
"""
import math
import os
import sys

import torch
import torch.nn.functional as F
import torchvision
from torch import nn

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures"))
from make_fixtures import bnlenet, randomize_batch_norm, save_safetensors  # noqa: E402,F401


def same_pads(size, kernel, stride):
    """TensorFlow's 'same': out = ceil(size / stride), the odd pixel after."""
    out = math.ceil(size / stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


class SameConv2d(nn.Conv2d):
    def forward(self, x):
        top, bottom = same_pads(x.shape[2], self.kernel_size[0], self.stride[0])
        left, right = same_pads(x.shape[3], self.kernel_size[1], self.stride[1])
        return super().forward(F.pad(x, (left, right, top, bottom)))


class SameMaxPool2d(nn.MaxPool2d):
    def forward(self, x):
        top, bottom = same_pads(x.shape[2], self.kernel_size, self.stride)
        left, right = same_pads(x.shape[3], self.kernel_size, self.stride)
        return super().forward(F.pad(x, (left, right, top, bottom), value=-math.inf))


class Residual(nn.Module):
    """d2l's Residual(num_channels, use_1x1conv, strides), Keras padding."""

    def __init__(self, in_channels, channels, use_1x1conv=False, strides=1):
        super().__init__()
        self.conv1 = SameConv2d(in_channels, channels, 3, stride=strides)
        self.bn1 = nn.BatchNorm2d(channels)
        self.conv2 = SameConv2d(channels, channels, 3)
        self.bn2 = nn.BatchNorm2d(channels)
        self.conv3 = nn.Conv2d(in_channels, channels, 1, stride=strides) if use_1x1conv else None

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return F.relu(y + (self.conv3(x) if self.conv3 is not None else x))


class GlobalAvgPool(nn.Module):
    def forward(self, x):
        return x.mean(dim=(2, 3))


def d2l_resnet18(in_channels=1, classes=10):
    def block(in_channels, channels, first_block):
        return nn.Sequential(Residual(in_channels, channels, not first_block, 1 if first_block else 2),
                             Residual(channels, channels))
    return nn.Sequential(
        nn.Sequential(SameConv2d(in_channels, 64, 7, stride=2), nn.BatchNorm2d(64), nn.ReLU(), SameMaxPool2d(3, 2)),
        block(64, 64, True), block(64, 128, False), block(128, 256, False), block(256, 512, False),
        nn.Sequential(GlobalAvgPool(), nn.Linear(512, classes)))


def torchvision_resnet18():
    return torchvision.models.resnet18()


def prepared(model, seed):
    """Deterministic weights, batch-norm statistics away from (0, 1), inference mode."""
    torch.manual_seed(seed)
    for module in model.modules():
        if isinstance(module, (nn.Conv2d, nn.Linear)):
            module.reset_parameters()
    randomize_batch_norm(model, torch.Generator().manual_seed(seed + 1))
    return model.eval()
