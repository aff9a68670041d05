#!/usr/bin/python3
"""The book's modern CNNs (d2l 8.3 NiN, 8.4 GoogLeNet, 8.7 DenseNet) as d2l writes them in PyTorch,
module for module as snc::nets::d2l declares them, at batch 2: for each, its initial weights, an
input, PyTorch's logits at inference, and one SGD step in training mode (loss, weights and
running statistics after). tests/d2l/check_d2l.cpp checks snc against them (scripts/check-d2l).

    /usr/bin/python3 tests/d2l/make_d2l_cases.py DIRECTORY

NiN's dropout draws snc's mask (src/ops/dropout.cpp: lowbias32 of the step's seed, the op and
the element) so that both engines drop the same elements.
"""
import os
import sys

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools"))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures"))
from save_safetensors import save_safetensors  # noqa: E402
from make_fixtures import randomize_batch_norm, sgd_step  # noqa: E402


# d2l 8.3
def nin_block(in_channels, out_channels, kernel_size, strides, padding):
    return nn.Sequential(nn.Conv2d(in_channels, out_channels, kernel_size, strides, padding), nn.ReLU(),
                         nn.Conv2d(out_channels, out_channels, kernel_size=1), nn.ReLU(),
                         nn.Conv2d(out_channels, out_channels, kernel_size=1), nn.ReLU())


def mix(h):
    """Chris Wellons' lowbias32 on uint32 arrays, as snc's dropout."""
    h = h ^ (h >> np.uint32(16))
    h = (h * np.uint32(0x7FEB352D)).astype(np.uint32)
    h = h ^ (h >> np.uint32(15))
    h = (h * np.uint32(0x846CA68B)).astype(np.uint32)
    return h ^ (h >> np.uint32(16))


class SncDropout(nn.Module):
    """nn.Dropout(rate) with the mask snc draws for graph op `op` at step seed `seed`."""

    def __init__(self, rate, op, seed=0):
        super().__init__()
        self.rate, self.op, self.seed = rate, op, seed

    def forward(self, x):
        if not self.training:
            return x
        n, c, h, w = x.shape
        with np.errstate(over="ignore"):
            stream = mix(np.array([(self.seed + self.op * 0x9E3779B9) & 0xFFFFFFFF], dtype=np.uint32))
            element = np.arange(n * h * w * c, dtype=np.uint32)  # NHWC order
            draw = mix((element * np.uint32(0x85EBCA6B)).astype(np.uint32) + stream)
        keep = draw >= np.uint32(min(int(self.rate * 2**32), 2**32 - 1))
        mask = torch.from_numpy(keep.reshape(n, h, w, c).transpose(0, 3, 1, 2).astype(np.float32))
        return x * mask / (1 - self.rate)


def nin(classes=10):
    return nn.Sequential(nin_block(1, 96, 11, 4, 0), nn.MaxPool2d(3, stride=2),
                         nin_block(96, 256, 5, 1, 2), nn.MaxPool2d(3, stride=2),
                         nin_block(256, 384, 3, 1, 1), nn.MaxPool2d(3, stride=2),
                         SncDropout(0.5, op=21),  # the graph's op 21: three blocks of 6 ops and 3 pools before it
                         nin_block(384, classes, 3, 1, 1), nn.AdaptiveAvgPool2d((1, 1)), nn.Flatten())


# d2l 8.4
class Inception(nn.Module):
    def __init__(self, in_channels, c1, c2, c3, c4):
        super().__init__()
        self.b1_1 = nn.Conv2d(in_channels, c1, kernel_size=1)
        self.b2_1 = nn.Conv2d(in_channels, c2[0], kernel_size=1)
        self.b2_2 = nn.Conv2d(c2[0], c2[1], kernel_size=3, padding=1)
        self.b3_1 = nn.Conv2d(in_channels, c3[0], kernel_size=1)
        self.b3_2 = nn.Conv2d(c3[0], c3[1], kernel_size=5, padding=2)
        self.b4_1 = nn.MaxPool2d(kernel_size=3, stride=1, padding=1)
        self.b4_2 = nn.Conv2d(in_channels, c4, kernel_size=1)

    def forward(self, x):
        b1 = F.relu(self.b1_1(x))
        b2 = F.relu(self.b2_2(F.relu(self.b2_1(x))))
        b3 = F.relu(self.b3_2(F.relu(self.b3_1(x))))
        b4 = F.relu(self.b4_2(self.b4_1(x)))
        return torch.cat((b1, b2, b3, b4), dim=1)


def googlenet(classes=10):
    b1 = nn.Sequential(nn.Conv2d(1, 64, kernel_size=7, stride=2, padding=3), nn.ReLU(), nn.MaxPool2d(3, stride=2, padding=1))
    b2 = nn.Sequential(nn.Conv2d(64, 64, kernel_size=1), nn.ReLU(), nn.Conv2d(64, 192, kernel_size=3, padding=1), nn.ReLU(),
                       nn.MaxPool2d(3, stride=2, padding=1))
    b3 = nn.Sequential(Inception(192, 64, (96, 128), (16, 32), 32), Inception(256, 128, (128, 192), (32, 96), 64),
                       nn.MaxPool2d(3, stride=2, padding=1))
    b4 = nn.Sequential(Inception(480, 192, (96, 208), (16, 48), 64), Inception(512, 160, (112, 224), (24, 64), 64),
                       Inception(512, 128, (128, 256), (24, 64), 64), Inception(512, 112, (144, 288), (32, 64), 64),
                       Inception(528, 256, (160, 320), (32, 128), 128), nn.MaxPool2d(3, stride=2, padding=1))
    b5 = nn.Sequential(Inception(832, 256, (160, 320), (32, 128), 128), Inception(832, 384, (192, 384), (48, 128), 128),
                       nn.AdaptiveAvgPool2d((1, 1)), nn.Flatten())
    return nn.Sequential(b1, b2, b3, b4, b5, nn.Linear(1024, classes))


# d2l 8.7
def conv_block(in_channels, num_channels):
    return nn.Sequential(nn.BatchNorm2d(in_channels), nn.ReLU(), nn.Conv2d(in_channels, num_channels, kernel_size=3, padding=1))


class DenseBlock(nn.Module):
    def __init__(self, num_convs, in_channels, num_channels):
        super().__init__()
        self.net = nn.Sequential(*[conv_block(in_channels + i * num_channels, num_channels) for i in range(num_convs)])

    def forward(self, x):
        for blk in self.net:
            x = torch.cat((x, blk(x)), dim=1)
        return x


def transition_block(in_channels, num_channels):
    return nn.Sequential(nn.BatchNorm2d(in_channels), nn.ReLU(), nn.Conv2d(in_channels, num_channels, kernel_size=1),
                         nn.AvgPool2d(kernel_size=2, stride=2))


def densenet(classes=10, num_channels=64, growth_rate=32, arch=(4, 4, 4, 4)):
    net = nn.Sequential()
    net.add_module("0", nn.Sequential(nn.Conv2d(1, 64, kernel_size=7, stride=2, padding=3), nn.BatchNorm2d(64), nn.ReLU(),
                                      nn.MaxPool2d(kernel_size=3, stride=2, padding=1)))
    for i, num_convs in enumerate(arch):
        net.add_module(f"dense_blk{i + 1}", DenseBlock(num_convs, num_channels, growth_rate))
        num_channels += num_convs * growth_rate
        if i != len(arch) - 1:
            net.add_module(f"tran_blk{i + 1}", transition_block(num_channels, num_channels // 2))
            num_channels //= 2
    net.add_module("last", nn.Sequential(nn.BatchNorm2d(num_channels), nn.ReLU(), nn.AdaptiveAvgPool2d((1, 1)), nn.Flatten(),
                                         nn.Linear(num_channels, classes)))
    return net


def write_case(directory, name, model, size, generator):
    randomize_batch_norm(model, generator)
    images = torch.rand(2, 1, size, size, generator=generator)
    labels = torch.tensor([3, 7])
    save_safetensors(os.path.join(directory, name + ".safetensors"), model.state_dict())
    model.eval()
    with torch.no_grad():
        logits = model(images)
    np.save(os.path.join(directory, name + "_input.npy"), images.permute(0, 2, 3, 1).contiguous().numpy())
    np.save(os.path.join(directory, name + "_expected.npy"), logits.numpy().astype(np.float32))
    loss, _ = sgd_step(model, images, labels)
    save_safetensors(os.path.join(directory, name + "_after.safetensors"), model.state_dict())
    np.save(os.path.join(directory, name + "_labels.npy"), labels.numpy().astype(np.float32))
    np.save(os.path.join(directory, name + "_loss.npy"), np.array([loss.item()], dtype=np.float32))
    print(f"{name}: {sum(p.numel() for p in model.parameters())} parameters, loss {loss.item():.6f}")


def main(directory):
    os.makedirs(directory, exist_ok=True)
    torch.manual_seed(0)
    generator = torch.Generator().manual_seed(1)
    write_case(directory, "nin", nin(), 224, generator)
    write_case(directory, "googlenet", googlenet(), 96, generator)
    write_case(directory, "densenet", densenet(), 96, generator)


if __name__ == "__main__":
    main(sys.argv[1])
