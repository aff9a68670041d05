#!/usr/bin/python3
"""The zoo (scripts/zoo): every torchvision classification family from its ONNX export
(export_zoo.py) to a program through `snc compile`, checked against PyTorch's output and timed
against ONNX Runtime on the same ONNX file, batch 1, on 1 and 2 threads, engines taking turns:

    run_zoo.py --prefix SNC_PREFIX --models DIR --ort-python PY --fma-peak PROGRAM [--runs N] [MODEL ...]

SNC_PREFIX is an installed snc (bin/snc-compile). Prints a markdown table and writes it to
DIR/results.md. The programs are compiled for the one Halide target this machine runs best (the
default three-target program takes three times as long to build); the build seconds are snc
compile's whole time, snc-import included.
"""
import argparse
import json
import os
import platform
import re
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from export_zoo import FAMILIES  # noqa: E402


def host_target():
    flags = open("/proc/cpuinfo").read()
    if re.search(r"\bavx512f\b", flags) and re.search(r"\bavx512bw\b", flags):
        return "x86-64-linux-avx512_skylake", "avx512"
    if re.search(r"\bavx2\b", flags) and re.search(r"\bfma\b", flags):
        return "x86-64-linux-avx2-fma-f16c", "avx2"
    return "x86-64-linux", "sse4"


def machine(peak_program):
    name = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")), platform.machine())
    text = subprocess.run([peak_program, "1", "2"], capture_output=True, text=True, check=True).stdout
    peak = {int(m.group(1)): float(m.group(2)) for m in re.finditer(r"fp32 peak, (\d+) threads?, .*: ([\d.]+) GFLOP/s", text)}
    return name, peak


def median_snc(program, threads, runs):
    """(median ms, effective GFLOP/s, effective GB/s) from the program's --bench line."""
    out = subprocess.run([program, "--bench", str(runs), "--threads", str(threads)], capture_output=True, text=True, check=True).stdout
    return (float(re.search(r"median ([\d.]+) ms", out).group(1)), float(re.search(r"([\d.]+) GFLOP/s effective", out).group(1)),
            float(re.search(r"([\d.]+) GB/s effective", out).group(1)))


def median_ort(ort_python, model, raw_input, shape, threads, runs, scratch):
    out = subprocess.run([ort_python, os.path.join(HERE, "..", "ort_bench.py"), model, raw_input, ",".join(map(str, shape)),
                          str(threads), str(runs), os.path.join(scratch, "ort_output.bin")],
                         capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])["median_ms"]


def build_and_time(name, directory, prefix, target, ort_python, runs, jobs=0):
    """`snc compile` of DIRECTORY/NAME.onnx for `target`, checked against PyTorch's output, then timed
    against ONNX Runtime at 1 and 2 threads, engines taking turns. A dict: name, seconds (the build's),
    and either failed (its first lines) and refused, or error (max |difference| / largest logit) and
    per thread count (1, 2) a tuple (snc ms, ORT ms, effective GFLOP/s, effective GB/s)."""
    programs = os.path.join(directory, "programs")
    os.makedirs(programs, exist_ok=True)
    model = os.path.join(directory, name + ".onnx")
    program = os.path.join(programs, name)
    start = time.monotonic()
    command = [os.path.join(prefix, "bin", "snc"), "compile", model, "-o", program, "--targets", target]
    if jobs:
        command += ["--jobs", str(jobs)]
    built = subprocess.run(command, capture_output=True, text=True)
    seconds = time.monotonic() - start
    if built.returncode != 0:
        return {"name": name, "seconds": seconds, "refused": built.returncode == 2,
                "failed": (built.stderr.strip().splitlines() or ["?"])[:12]}
    output = os.path.join(programs, name + "_output.npy")
    subprocess.run([program, "--input", os.path.join(directory, name + "_input.npy"), "--output", output], check=True)
    got, want = np.load(output), np.load(os.path.join(directory, name + "_expected.npy"))
    error = float(np.max(np.abs(got - want)) / max(float(np.max(np.abs(want))), 1e-12))
    x = np.load(os.path.join(directory, name + "_input.npy"))
    raw = os.path.join(programs, name + "_input.bin")
    x.astype("<f4").tofile(raw)
    cells = {}
    for threads in (1, 2):
        snc_turns, ort_ms = [], []
        for _ in range(2):  # turns: snc, ORT, snc, ORT
            snc_turns.append(median_snc(program, threads, runs))
            ort_ms.append(median_ort(ort_python, model, raw, list(x.shape), threads, runs, programs))
        best = min(snc_turns)  # the fastest turn, with its own rates
        cells[threads] = (best[0], min(ort_ms), best[1], best[2])
    return {"name": name, "seconds": seconds, "error": error, "cells": cells}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("models", nargs="*")
    parser.add_argument("--prefix", required=True)
    parser.add_argument("--models-dir", required=True)
    parser.add_argument("--ort-python", required=True)
    parser.add_argument("--fma-peak", required=True)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--jobs", type=int, default=0)
    args = parser.parse_args()
    names = args.models or FAMILIES
    directory = args.models_dir
    target, isa = host_target()
    cpu, peak = machine(args.fma_peak)
    header = (f"Machine: {cpu}, {os.cpu_count()} cores, snc target {target}; FP32 peak (bench/fma_peak) "
              f"{peak.get(1, 0):.0f} / {peak.get(2, 0):.0f} GFLOP/s on 1 / 2 threads; ONNX Runtime "
              f"{subprocess.run([args.ort_python, os.path.join(HERE, '..', 'ort_bench.py'), '--version'], capture_output=True, text=True).stdout.strip()}; "
              f"batch 1, 224x224, median of {args.runs} runs, snc and ONNX Runtime taking turns.")
    print(header, flush=True)
    rows = []
    for name in names:
        r = build_and_time(name, directory, args.prefix, target, args.ort_python, args.runs, args.jobs)
        if "failed" in r:
            rows.append((name, "refused" if r["refused"] else "build failed", f"{r['seconds']:.0f}", "", "", "", "", ""))
            print(f"{name}: snc compile failed after {r['seconds']:.0f} s:\n  " + "\n  ".join(r["failed"]), flush=True)
            continue
        one, two = r["cells"][1], r["cells"][2]
        rows.append((name, f"{r['error']:.1e}", f"{r['seconds']:.0f}", f"{one[0]:.2f}", f"{one[1]:.2f}", f"{one[0] / one[1]:.2f}",
                     f"{two[0]:.2f} / {two[1]:.2f}", f"{two[0] / two[1]:.2f}"))
        print(f"{name}: |snc - PyTorch| {r['error']:.1e} of the largest logit, built in {r['seconds']:.0f} s; 1 thread {one[0]:.2f} ms "
              f"(ORT {one[1]:.2f}, {one[2]:.0f} GFLOP/s and {one[3]:.1f} GB/s effective), 2 threads {two[0]:.2f} ms (ORT {two[1]:.2f})",
              flush=True)
    table = ["| model | max error / largest logit | build s | snc 1 thread ms | ORT 1 thread ms | ratio | snc / ORT 2 threads ms | ratio |",
             "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    table += ["| " + " | ".join(row) + " |" for row in rows]
    text = header + "\n\n" + "\n".join(table) + "\n"
    print("\n" + text)
    with open(os.path.join(directory, "results.md"), "w") as f:
        f.write(text)
    return 0 if all(r[1] not in ("refused", "build failed") and float(r[1]) <= 1e-4 for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
