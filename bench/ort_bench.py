"""ONNX Runtime's side of the benchmark (the `onnxruntime` package from PyPI, CPU), run by the
Python of its own folder (scripts/bench makes it), apart from the harness's Debian Python:
    ort_bench.py model.onnx input.bin N,C,H,W threads runs output.bin
prints {"median_ms": ...} after writing the output of one run (float32, raw) for the check.
    ort_bench.py --version
prints the package's version.
The session is set as a latency user sets it: intra-op threads as asked, one inter-op thread,
sequential execution, every graph optimization. The time is session.run's, Python's call included:
a whole call of a one-ReLU model takes 7 us (measured 2026-12-07), under 1 % of the fastest case.
"""
import json
import sys
import time

import numpy as np
import onnxruntime as ort


def main(argv):
    if argv[1:] == ["--version"]:
        print(ort.__version__)
        return 0
    model, input_path, dims_text, threads, runs, output_path = argv[1:]
    dims = [int(d) for d in dims_text.split(",")]
    x = np.fromfile(input_path, dtype=np.float32).reshape(dims)
    options = ort.SessionOptions()
    options.intra_op_num_threads = int(threads)
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    session = ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])
    feeds = {session.get_inputs()[0].name: x}
    output_name = session.get_outputs()[0].name
    session.run([output_name], feeds)[0].astype(np.float32).tofile(output_path)
    for _ in range(3):
        session.run([output_name], feeds)
    times = []
    for _ in range(int(runs)):
        start = time.perf_counter_ns()
        session.run([output_name], feeds)
        times.append((time.perf_counter_ns() - start) / 1e6)
    times.sort()
    print(json.dumps({"median_ms": times[len(times) // 2]}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
