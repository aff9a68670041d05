#!/usr/bin/python3
"""Exports torchvision's classification CNNs as a new user would (Debian's torch 1.13 and
torchvision 0.14, random weights and batch-norm statistics, eval mode, torch.onnx.export at
1x3x224x224, opset 13 unless --opset), each with an input and PyTorch's output:

    /usr/bin/python3 bench/zoo/export_zoo.py OUT_DIR [--opset N] [MODEL ...]

writes OUT_DIR/MODEL.onnx, MODEL_input.npy (NCHW, as the model takes it) and MODEL_expected.npy.
A model already exported with the same opset is kept.
"""
import argparse
import os
import sys
import warnings

import numpy as np
import torch
import torchvision

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "fixtures"))
from make_fixtures import randomize_batch_norm  # noqa: E402  (statistics far from the identity: folding tested for real)

# One per family, then the rest of the families' sizes the issue names (scripts/zoo --all).
FAMILIES = ["resnet18", "resnet50", "resnext50_32x4d", "wide_resnet50_2", "vgg11", "vgg11_bn", "alexnet",
            "mobilenet_v2", "mobilenet_v3_small", "mobilenet_v3_large", "efficientnet_b0", "efficientnet_v2_s",
            "regnet_x_400mf", "regnet_y_400mf", "densenet121", "googlenet", "inception_v3", "shufflenet_v2_x1_0",
            "mnasnet1_0", "squeezenet1_0", "squeezenet1_1", "convnext_tiny"]
MORE = ["efficientnet_b1", "efficientnet_b2", "efficientnet_b3", "efficientnet_b4", "efficientnet_b5",
        "efficientnet_b6", "efficientnet_b7"]


def build(name):
    kwargs = {}
    if name in ("googlenet", "inception_v3"):
        kwargs = {"aux_logits": False, "init_weights": False}  # torchvision's init (std 0.1) sends the logits to 1e13
    return getattr(torchvision.models, name)(weights=None, **kwargs)


def export(directory, name, opset):
    path = os.path.join(directory, name + ".onnx")
    stamp = os.path.join(directory, name + ".opset")
    if os.path.exists(path) and os.path.exists(stamp) and open(stamp).read() == str(opset):
        return
    torch.manual_seed(0)
    model = build(name)
    randomize_batch_norm(model, torch.Generator().manual_seed(7))
    model.eval()
    x = torch.rand(1, 3, 224, 224, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        y = model(x)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, x, path, opset_version=opset, input_names=["x"], output_names=["y"])
    np.save(os.path.join(directory, name + "_input.npy"), x.numpy().astype("<f4"))
    np.save(os.path.join(directory, name + "_expected.npy"), y.numpy().astype("<f4"))
    with open(stamp, "w") as f:
        f.write(str(opset))
    print(f"exported {name} (opset {opset})", flush=True)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("directory")
    parser.add_argument("models", nargs="*")
    parser.add_argument("--opset", type=int, default=13)
    parser.add_argument("--all", action="store_true")
    args = parser.parse_args()
    os.makedirs(args.directory, exist_ok=True)
    torch.set_num_threads(2)
    names = args.models or (FAMILIES + MORE if args.all else FAMILIES)
    for name in names:
        export(args.directory, name, args.opset)


if __name__ == "__main__":
    sys.exit(main())
