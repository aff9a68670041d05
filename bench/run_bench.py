#!/usr/bin/python3
"""snc against PyTorch (eager; torch.jit.trace + freeze + optimize_for_inference) and ONNX Runtime
(the `onnxruntime` package from PyPI, in a Python of its own: bench/ort_bench.py), same models, same
inputs, same thread counts. Run by scripts/bench.

For every model it first checks that the three agree on one input (snc and ONNX Runtime against
PyTorch eager), then times each at 1 and 2 threads, the engines taking turns (--rounds), and
prints the median latencies, the ratios snc / peer (below 1: snc is faster) and snc's effective
GFLOP/s against the FP32 peak measured by bench/fma_peak in the same run. Effective: the
arithmetic of direct convolution (2 flops per multiply-add of the network) per second, whatever the
algorithm; a schedule that does less arithmetic (Winograd) can pass 100 % of peak.
Then training, against PyTorch eager: a BNLeNet epoch on Fashion-MNIST and steps of the course's
ResNet-18 (batch 128, 96x96).
"""
import argparse
import gzip
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import warnings

import numpy as np
import torch

import torch_models

HERE = os.path.dirname(os.path.abspath(__file__))


def median_ms(function, runs, warmup=3):
    for _ in range(warmup):
        function()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        function()
        times.append((time.perf_counter() - start) * 1e3)
    return sorted(times)[len(times) // 2]


def relative_difference(got, want):
    return float(np.max(np.abs(got - want)) / max(np.max(np.abs(want)), 1e-12))


def run(command):
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"bench: {' '.join(command)} failed:\n{result.stdout}{result.stderr}")
    return result.stdout


def measure_peak(build):
    text = run([os.path.join(build, "bench", "fma_peak"), "1", "2"])
    peak = {int(m.group(1)): float(m.group(2)) for m in re.finditer(r"fp32 peak, (\d+) threads?, .*: ([\d.]+) GFLOP/s", text)}
    rate = re.search(r"512-bit FMAs at (\w+) rate", text)
    return peak, (rate.group(1) if rate else None)


# The flags that decide which of snc's variants runs and how fast (the ratios depend on them).
KIND_FLAGS = ["avx2", "fma", "avx512f", "avx512bw", "avx512vl", "avx512_vnni", "avx512_bf16", "amx_tile"]
KINDS_FILE = os.path.join(HERE, "results", "machine-kinds.txt")


def machine_kind(fma_rate):
    """The CPU's model, its flags among KIND_FLAGS and its 512-bit FMA rate: the machine kind a
    ratio belongs to (issue 31: a ratio met on one kind is not met on another)."""
    model, flags = "unknown CPU", set()
    with open("/proc/cpuinfo") as cpuinfo:
        for line in cpuinfo:
            if line.startswith("model name") and model == "unknown CPU":
                model = line.split(":", 1)[1].strip()
            elif line.startswith("flags") and not flags:
                flags = set(line.split(":", 1)[1].split())
    present = [flag for flag in KIND_FLAGS if flag in flags]
    rate = f"512-bit FMAs at {fma_rate} rate" if fma_rate else "no AVX-512"
    return f"{model}; {' '.join(present)}; {rate}; {os.cpu_count()} cores"


def report_kind(kind):
    """Prints the kind, and whether the benchmark has met it before (bench/results/machine-kinds.txt,
    one kind a line with the day it was first seen); a new kind is added to that file."""
    seen = {}
    if os.path.exists(KINDS_FILE):
        with open(KINDS_FILE) as known:
            for line in known:
                if " | " in line and not line.startswith("#"):
                    day, text = line.rstrip("\n").split(" | ", 1)
                    seen[text] = day
    print(f"Machine kind: {kind}")
    if kind in seen:
        print(f"  seen by this benchmark before (first on {seen[kind]}): its earlier results files compare with this one")
        return
    print("  NOT SEEN BEFORE by this benchmark: ratios measured on other kinds do not carry over to this one; "
          "say so in the README's benchmark section")
    with open(KINDS_FILE, "a") as known:
        if not seen:
            known.write("# Machine kinds scripts/bench has run on (kept from 2026-12-08 on; older results files name their machine in their text): the day first seen | model; flags; 512-bit FMA rate; cores\n")
        known.write(f"{time.strftime('%Y-%m-%d')} | {kind}\n")


class Case:
    def __init__(self, name, make_model, program, shape, multiply_adds, runs, rounds=None):
        self.name, self.make_model, self.program = name, make_model, program
        self.shape, self.multiply_adds, self.runs, self.rounds = shape, multiply_adds, runs, rounds


def bench_case(case, args, scratch, peak):
    model = torch_models.prepared(case.make_model(), seed=7)
    weights = os.path.join(scratch, case.name + ".safetensors")
    torch_models.save_safetensors(weights, model.state_dict())
    generator = torch.Generator().manual_seed(3)
    x = torch.rand(case.shape, generator=generator)
    nhwc = os.path.join(scratch, case.name + "_input.npy")
    np.save(nhwc, x.permute(0, 2, 3, 1).contiguous().numpy())
    raw = os.path.join(scratch, case.name + "_input.bin")
    x.numpy().tofile(raw)
    with torch.no_grad():
        expected = model(x).numpy()

    # Agreement first.
    snc_out = os.path.join(scratch, case.name + "_snc.npy")
    # On the CPU even where a GPU is usable (a build from before --device has no such option).
    device = ["--device", "cpu"] if "--device" in run([case.program, "--help"]) else []
    run([case.program, "--weights", weights, "--input", nhwc, "--output", snc_out] + device)
    snc_difference = relative_difference(np.load(snc_out), expected)
    onnx_path = os.path.join(scratch, case.name + ".onnx")
    with warnings.catch_warnings():
        # torch 1.13's exporter warns about the ResNets' constant Slice folding; the export is right
        # (the agreement check just below compares ONNX Runtime's output with PyTorch's).
        warnings.simplefilter("ignore", UserWarning)
        torch.onnx.export(model, x, onnx_path, opset_version=13, input_names=["x"], output_names=["y"])
    ort_out = os.path.join(scratch, case.name + "_ort.bin")
    ort = [args.ort_python, os.path.join(HERE, "ort_bench.py"), onnx_path, raw, ",".join(map(str, case.shape))]
    run(ort + ["1", "1", ort_out])
    ort_difference = relative_difference(np.fromfile(ort_out, dtype=np.float32).reshape(expected.shape), expected)
    agree = snc_difference < 1e-4 and ort_difference < 1e-4
    print(f"\n{case.name}: outputs agree with PyTorch eager: snc {snc_difference:.1e}, "
          f"ONNX Runtime {ort_difference:.1e} (max |difference| / max |logit|){'' if agree else '  MISMATCH'}")
    if not agree:
        sys.exit("bench: the engines disagree; not timing")

    with torch.no_grad():
        traced = torch.jit.optimize_for_inference(torch.jit.freeze(torch.jit.trace(model, x)))
    rows = []
    for threads in (1, 2):
        torch.set_num_threads(threads)
        # The engines take turns, `rounds` times, each `runs` runs a turn; each figure is the median
        # of an engine's turns. On this shared machine a neighbour's burst slows whichever engine
        # runs through it (the 2-thread figures moved by up to 2x between two runs): with one turn
        # each it fell on one engine's figure whole, with turns it falls on one turn of several.
        turns = {"eager": [], "jit": [], "ort": [], "snc": []}
        for _ in range(case.rounds or args.rounds):
            with torch.no_grad():
                turns["eager"].append(median_ms(lambda: model(x), case.runs))
                turns["jit"].append(median_ms(lambda: traced(x), case.runs))
            turns["ort"].append(json.loads(run(ort + [str(threads), str(case.runs), ort_out]))["median_ms"])
            text = run([case.program, "--weights", weights, "--input", nhwc, "--bench", str(case.runs),
                        "--threads", str(threads)] + device)
            turns["snc"].append(float(re.search(r"median latency: ([\d.]+) ms", text).group(1)))
        eager, jit, ort_ms, snc_ms = (sorted(turns[k])[len(turns[k]) // 2] for k in ("eager", "jit", "ort", "snc"))
        gflops = 2 * case.multiply_adds / snc_ms / 1e6
        rows.append((threads, snc_ms, eager, jit, ort_ms, gflops))
        print(f"  {threads} thread{'s' if threads > 1 else ' '}  snc {snc_ms:8.2f} ms | torch eager {eager:8.2f} | "
              f"torch jit {jit:8.2f} | onnxruntime {ort_ms:8.2f} || snc/eager {snc_ms / eager:5.2f}  "
              f"snc/jit {snc_ms / jit:5.2f}  snc/ort {snc_ms / ort_ms:5.2f} || snc {gflops:6.1f} effective GFLOP/s = "
              f"{100 * gflops / peak[threads]:4.1f}% of peak", flush=True)
    return rows


def bench_training(args):
    """One training epoch of BNLeNet (batch 128, lr 0.1): snc's trainer against PyTorch's, same
    data, same batch, same threads. snc's epoch time excludes its test evaluation, as PyTorch's."""
    trainer = os.path.join(args.build, "examples", "snc-train-bnlenet")
    print("\nBNLeNet training epoch on Fashion-MNIST (468 steps of 128, lr 0.1, SGD):")
    for threads in (1, 2):
        text = run([trainer, "--epochs", "1", "--threads", str(threads), "--population-stats", "0"])
        snc_s = float(re.search(r"epoch 1/1: .*test accuracy ([\d.]+), ([\d.]+) s", text).group(2))
        snc_accuracy = float(re.search(r"epoch 1/1: .*test accuracy ([\d.]+)", text).group(1))
        text = run([sys.executable, os.path.join(HERE, "torch_train.py"), "--epochs", "1", "--threads", str(threads)])
        match = re.search(r"epoch 1: .*test accuracy ([\d.]+), ([\d.]+) s", text)
        torch_s, torch_accuracy = float(match.group(2)), float(match.group(1))
        print(f"  {threads} thread{'s' if threads > 1 else ' '}  snc {snc_s:6.2f} s (test accuracy {snc_accuracy:.4f}) | "
              f"torch {torch_s:6.2f} s (test accuracy {torch_accuracy:.4f}) || snc/torch {snc_s / torch_s:5.2f}", flush=True)


FASHION_MNIST = "/usr/share/datasets/fashion-mnist"
D2L_RESNET18_MULTIPLY_ADDS = 318_657_536  # per 96x96 image (snc::mac_count<nets::d2l::ResNet18<1>>)


def small_test_set(scratch, images=128):
    """A data directory with the whole training set and the first `images` test images, so that a
    trainer stopped after a few steps spends seconds, not a minute, on its closing evaluation."""
    directory = os.path.join(scratch, "fashion-mnist-small-test")
    os.makedirs(directory, exist_ok=True)
    for name in ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"):
        target = os.path.join(directory, name)
        if not os.path.exists(target):
            os.symlink(os.path.join(FASHION_MNIST, name), target)
    for stem, header, item in (("t10k-images-idx3-ubyte", 16, 28 * 28), ("t10k-labels-idx1-ubyte", 8, 1)):
        with gzip.open(os.path.join(FASHION_MNIST, stem + ".gz")) as source:
            data = bytearray(source.read(header + images * item))
        data[4:8] = images.to_bytes(4, "big")  # the count, big-endian after the magic number
        with open(os.path.join(directory, stem), "wb") as out:
            out.write(data)
    return directory


def bench_resnet18_step(args, scratch, peak, steps):
    """Training steps of the course's ResNet-18 (batch 128, 96x96, SGD): snc-train-d2l-resnet18
    against PyTorch eager on the same threads. Both time `steps` steps after an untimed first one:
    PyTorch's first step builds its oneDNN primitives, snc's first touches the step's memory (about
    1.5 GB of fresh pages, 1.3 s more than a later step on this machine); snc's first step is
    printed beside."""
    trainer = os.path.join(args.build, "examples", "snc-train-d2l-resnet18")
    data = small_test_set(scratch)
    print(f"\ncourse ResNet-18 training step (batch 128, 96x96, SGD), {steps} steps:")
    # On the CPU even where a GPU is usable (a build from before --device has no such option).
    device = ["--device", "cpu"] if "--device" in run([trainer, "--help"]) else []
    for threads in (1, 2):
        def trained_seconds(count):
            text = run([trainer, "--steps", str(count), "--threads", str(threads), "--population-stats", "0",
                        "--data", data] + device)
            return text, 1e3 * float(re.search(r"training: \d+ steps in ([\d.]+) s", text).group(1))

        text, total_ms = trained_seconds(steps + 1)
        match = re.search(r"the first step ([\d.]+) ms, the rest ([\d.]+) ms a step", text)
        if match:
            first_ms, snc_ms = float(match.group(1)), float(match.group(2))
        else:  # a trainer from before that figure: the time of one step alone taken off
            first_ms = trained_seconds(1)[1]
            snc_ms = (total_ms - first_ms) / steps
        text = run([sys.executable, os.path.join(HERE, "torch_train.py"), "--resnet18-steps", str(steps),
                    "--threads", str(threads)])
        torch_ms = float(re.search(r"training: .* ([\d.]+) ms per step", text).group(1))
        gflops = 6 * 128 * D2L_RESNET18_MULTIPLY_ADDS / snc_ms / 1e6  # forward and two backward products
        print(f"  {threads} thread{'s' if threads > 1 else ' '}  snc {snc_ms:8.1f} ms ({128e3 / snc_ms:5.1f} img/s, "
              f"first step {first_ms:.0f} ms) | "
              f"torch eager {torch_ms:8.1f} ms ({128e3 / torch_ms:5.1f} img/s) || snc/torch {snc_ms / torch_ms:5.2f} || "
              f"snc {gflops:6.1f} effective GFLOP/s = {100 * gflops / peak[threads]:4.1f}% of peak", flush=True)
        if threads == 2:
            two_threads_ms = snc_ms
    bench_data_parallel(trainer, data, device, steps, two_threads_ms)


def bench_data_parallel(trainer, data, device, steps, two_threads_ms):
    """The same steps on 2 processes of 1 thread each (mpirun -n 2: 64 images each, the gradients
    summed by MPI every step), against 1 process of 2 threads: the data-parallel issue's
    throughput goal is at least 0.85 of the one process's images/s."""
    if "--sync-bn" not in run([trainer, "--help"]):
        print("  2 processes x 1 thread: this trainer was built without MPI")
        return
    mpirun = ["mpirun", "--oversubscribe", "--quiet", "-n", "2"] + (["--allow-run-as-root"] if os.geteuid() == 0 else [])
    for sync in ([], ["--sync-bn"]):
        text = run(mpirun + [trainer, "--steps", str(steps + 1), "--threads", "1", "--population-stats", "0", "--data", data]
                   + device + sync)
        ms = float(re.search(r"the rest ([\d.]+) ms a step", text).group(1))
        print(f"  2 processes x 1 thread{' --sync-bn' if sync else ''}: {ms:8.1f} ms ({128e3 / ms:5.1f} img/s) || "
              f"images/s against 1 process x 2 threads {two_threads_ms / ms:5.2f} (goal >= 0.85)", flush=True)


# The zoo issue's speed goal: torchvision's models from their ONNX export through `snc compile`,
# against ONNX Runtime on the same file (bench/zoo/run_zoo.py builds, checks and times them).
ZOO_MODELS = ["mobilenet_v2", "efficientnet_b0", "regnet_y_400mf", "resnet50"]


def bench_zoo(args, peak):
    sys.path.insert(0, os.path.join(HERE, "zoo"))
    import export_zoo
    import run_zoo
    directory = os.path.join(args.build, "bench", "zoo")
    os.makedirs(directory, exist_ok=True)
    target, _ = run_zoo.host_target()
    print(f"\ntorchvision models through snc compile (target {target}), batch 1, 224x224; effective GB/s: the bytes a run "
          f"moves at the least (the model's <id>_traffic_bytes) over its time")
    for name in ZOO_MODELS:
        export_zoo.export(directory, name, 13)
        r = run_zoo.build_and_time(name, directory, args.prefix, target, args.ort_python, 10 if args.quick else 30)
        if "failed" in r:
            sys.exit(f"bench: snc compile of {name} failed:\n  " + "\n  ".join(r["failed"]))
        print(f"{name}: outputs agree with PyTorch eager: snc {r['error']:.1e} (max |difference| / max |logit|), built in "
              f"{r['seconds']:.0f} s{'' if r['error'] < 1e-4 else '  MISMATCH'}")
        for threads, (snc_ms, ort_ms, gflops, gbps) in r["cells"].items():
            print(f"  {threads} thread{'s' if threads > 1 else ' '}  snc {snc_ms:8.2f} ms | onnxruntime {ort_ms:8.2f} || "
                  f"snc/ort {snc_ms / ort_ms:5.2f} || snc {gflops:6.1f} effective GFLOP/s = {100 * gflops / peak[threads]:5.1f}% of peak, "
                  f"{gbps:5.1f} effective GB/s", flush=True)


def onnxruntime_version(ort_python):
    return subprocess.run([ort_python, os.path.join(HERE, "ort_bench.py"), "--version"], check=True,
                          capture_output=True, text=True).stdout.strip()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--build", required=True, help="snc's build directory")
    parser.add_argument("--ort-python", required=True, help="the Python that has the onnxruntime package (scripts/bench's folder)")
    parser.add_argument("--prefix", required=True, help="snc installed from that build (bin/snc compile), for the zoo's rows")
    parser.add_argument("--quick", action="store_true", help="fewer runs")
    parser.add_argument("--parts", default="inference,zoo,training",
                        help="which parts, comma-separated: inference, zoo, training (default all)")
    parser.add_argument("--rounds", type=int, default=None,
                        help="turns each engine takes at every batch-1 and BNLeNet case (default 3, 1 with --quick; batch 64 takes one)")
    args = parser.parse_args()
    if args.rounds is None:
        args.rounds = 1 if args.quick else 3
    torch.set_num_interop_threads(1)
    programs = os.path.join(args.build, "examples")
    scale = 0.25 if args.quick else 1.0
    cases = [
        Case("torchvision ResNet-18, batch 1", torch_models.torchvision_resnet18,
             os.path.join(programs, "snc-resnet18"), (1, 3, 224, 224), 1_814_073_344, max(3, int(30 * scale))),
        Case("course ResNet-18 (96x96), batch 1", torch_models.d2l_resnet18,
             os.path.join(programs, "snc-d2l-resnet18"), (1, 1, 96, 96), D2L_RESNET18_MULTIPLY_ADDS, max(3, int(30 * scale))),
        Case("course ResNet-18 (96x96), batch 64", torch_models.d2l_resnet18,
             os.path.join(args.build, "bench", "snc-d2l-resnet18-b64"), (64, 1, 96, 96), 64 * D2L_RESNET18_MULTIPLY_ADDS,
             max(3, int(8 * scale)), rounds=1),  # runs of 0.1-1 s: one turn (three took 9 of the bench's 19 minutes)
        Case("BNLeNet, batch 128", torch_models.bnlenet,
             os.path.join(programs, "snc-bnlenet"), (128, 1, 28, 28), 36_049_920, max(3, int(30 * scale))),
    ]
    peak, fma_rate = measure_peak(args.build)
    report_kind(machine_kind(fma_rate))
    print(f"FP32 peak measured now (bench/fma_peak): 1 thread {peak[1]:.1f} GFLOP/s, 2 threads {peak[2]:.1f} GFLOP/s")
    print(f"PyTorch {torch.__version__}, ONNX Runtime {onnxruntime_version(args.ort_python)} (Python, PyPI); "
          f"ratios are snc / peer: below 1.00 snc is faster")
    print(f"Inference: the engines take {args.rounds} turns in rotation (batch 64: one); each figure is the median of an "
          f"engine's turns, each turn the median of its runs")
    parts = set(args.parts.split(","))
    with tempfile.TemporaryDirectory(prefix="snc-bench-") as scratch:
        if "inference" in parts:
            for case in cases:
                bench_case(case, args, scratch, peak)
        if "zoo" in parts:
            bench_zoo(args, peak)
        if "training" in parts:
            bench_training(args)
            bench_resnet18_step(args, scratch, peak, steps=2 if args.quick else 5)


if __name__ == "__main__":
    main()
