#!/usr/bin/python3
"""Data-parallel training over MPI, end to end: snc-train-bnlenet under `mpirun -n K`.

  data_parallel_test.py TRAINER [--opencl]

Checks, each against the trainer run in one process (K = 1, the network's batch of 128):
  - K = 2 and K = 4 with --sync-bn give the weights and running statistics of one process
    within 1e-4 after 20 steps with momentum;
  - K = 2 without it (each process normalizes its own 64 images) differs, and trains;
  - every process ends with the same parameters (the trainer's checksum line);
  - a K that does not divide the batch, and one whose local batch was not compiled, are refused
    with one line; ranks started with different seeds are refused;
  - a rank killed mid-run ends the job within seconds, non-zero, and leaves no checkpoint;
  - with --opencl (PoCL): a GPU step's gradients exchanged through the host.
"""
import json
import os
import pathlib
import signal
import struct
import subprocess
import sys
import tempfile
import time

import numpy as np

TRAINER = sys.argv[1]
FAILURES = []
# Open MPI from Debian as CI runs it: as root, more processes than cores.
MPIRUN = ["mpirun", "--allow-run-as-root", "--oversubscribe", "--quiet"]
COMMON = ["--steps", "20", "--lr", "0.1", "--momentum", "0.9", "--seed", "3", "--threads", "1", "--population-stats", "0"]


def check(condition, what):
    print(("ok    " if condition else "FAIL  ") + what, flush=True)
    if not condition:
        FAILURES.append(what)


def run(command, timeout=600):
    started = time.monotonic()
    result = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    result.seconds = time.monotonic() - started
    return result


def trainer(processes, *options):
    command = ([] if processes is None else MPIRUN + ["-n", str(processes)]) + [TRAINER, *COMMON, *options]
    return run(command)


def read_safetensors(path):
    data = pathlib.Path(path).read_bytes()
    (length,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + length])
    body = data[8 + length:]
    tensors = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        begin, end = entry["data_offsets"]
        tensors[name] = np.frombuffer(body[begin:end], dtype=np.float32).reshape(entry["shape"])
    return tensors


def largest_difference(a, b):
    assert a.keys() == b.keys(), (sorted(a), sorted(b))
    return max(float(np.max(np.abs(a[k] - b[k]))) for k in a)


def output_of(result):
    return result.stdout + result.stderr


with tempfile.TemporaryDirectory(prefix="snc-mpi-") as work:
    work = pathlib.Path(work)

    alone = trainer(None, "--save", str(work / "alone.safetensors"))
    check(alone.returncode == 0, f"one process trains (exit {alone.returncode}): {output_of(alone)[-400:]}")
    reference = read_safetensors(work / "alone.safetensors")
    check(any("running_var" in name for name in reference), "the checkpoint holds the running statistics")

    for processes in (2, 4):
        synced = trainer(processes, "--sync-bn", "--save", str(work / f"synced{processes}.safetensors"))
        check(synced.returncode == 0, f"mpirun -n {processes} --sync-bn trains (exit {synced.returncode}): {output_of(synced)[-600:]}")
        if synced.returncode == 0:
            difference = largest_difference(reference, read_safetensors(work / f"synced{processes}.safetensors"))
            check(difference <= 1e-4, f"-n {processes} --sync-bn equals one process within 1e-4: {difference:.2e}")
            check(f"identical on the {processes} processes" in synced.stdout, f"-n {processes}: every process ends with the same parameters")
            check(synced.stdout.count("test accuracy:") == 1, f"-n {processes}: one process prints the results")

    local = trainer(2, "--save", str(work / "local.safetensors"))
    check(local.returncode == 0, f"mpirun -n 2 without --sync-bn trains (exit {local.returncode}): {output_of(local)[-600:]}")
    if local.returncode == 0:
        difference = largest_difference(reference, read_safetensors(work / "local.safetensors"))
        check(difference > 1e-3, f"-n 2 without --sync-bn differs from one process: {difference:.2e}")
        accuracy = float(local.stdout.split("test accuracy:")[-1].split()[0])
        loss = float(local.stdout.split("train loss")[-1].split(",")[0])
        check(accuracy > 0.3 and loss < 2.0, f"-n 2 without --sync-bn learns: 20 steps, mean loss {loss:.3f} "
              f"(log 10 = 2.30 at chance), test accuracy {accuracy:.3f}")
        check("identical on the 2 processes" in local.stdout, "-n 2 without --sync-bn: every process ends with the same parameters")

    # Refusals: one line, exit 2, nothing trained.
    alone_synced = trainer(None, "--sync-bn")
    check(alone_synced.returncode == 2 and "--sync-bn synchronizes the processes of `mpirun -n K`" in alone_synced.stderr,
          f"--sync-bn without mpirun is refused (exit {alone_synced.returncode}): {alone_synced.stderr.strip()[:300]}")
    for processes, expected in ((3, "3 processes cannot share batches of 128: the number does not divide the batch"),
                                (8, "8 processes cannot share batches of 128: this trainer has no compiled step of 16 images")):
        refused = trainer(processes)
        lines = [line for line in refused.stderr.splitlines() if "snc-train-bnlenet" in line]
        check(refused.returncode == 2 and len(lines) == 1 and expected in lines[0],
              f"-n {processes} is refused with one line (exit {refused.returncode}): {refused.stderr.strip()[:300]}")

    other_seed = [("4" if previous == "--seed" else option) for previous, option in zip([""] + COMMON, COMMON)]
    different = run(MPIRUN + ["-n", "1", TRAINER, *COMMON, ":", "-n", "1", TRAINER, *other_seed])
    lines = [line for line in different.stderr.splitlines() if "snc-train-bnlenet" in line]
    check(different.returncode == 2 and len(lines) == 1 and "different options or --init files" in lines[0],
          f"ranks with different seeds are refused with one line (exit {different.returncode}): {different.stderr.strip()[:300]}")

    typo = run(MPIRUN + ["-n", "1", TRAINER, *COMMON, ":", "-n", "1", TRAINER, *COMMON, "--momentun", "0.9"])
    lines = [line for line in typo.stderr.splitlines() if "snc-train-bnlenet" in line]
    check(typo.returncode == 2 and len(lines) == 1 and "--momentun" in lines[0],
          f"an option only rank 1 was given wrong is refused with its one line (exit {typo.returncode}): {typo.stderr.strip()[:300]}")
    typo = trainer(2, "--momentun", "0.9")
    lines = [line for line in typo.stderr.splitlines() if "snc-train-bnlenet" in line]
    check(typo.returncode == 2 and len(lines) == 1 and "--momentun" in lines[0],
          f"an option every rank was given wrong is refused with one line (exit {typo.returncode}): {typo.stderr.strip()[:300]}")

    bad_init = work / "bad.safetensors"
    bad_init.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json at all")
    refused = trainer(2, "--init", str(bad_init))
    lines = [line for line in refused.stderr.splitlines() if "snc-train-bnlenet" in line]
    check(refused.returncode == 2 and len(lines) == 1 and str(bad_init) in lines[0],
          f"a malformed --init is refused with one line naming it (exit {refused.returncode}): {refused.stderr.strip()[:300]}")

    # A rank killed mid-run: the job ends, every process, non-zero, within seconds; no checkpoint.
    checkpoint = work / "killed.safetensors"
    job = subprocess.Popen(MPIRUN + ["-n", "2", TRAINER, "--epochs", "5", "--threads", "1", "--save", str(checkpoint)],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    victims = []
    deadline = time.monotonic() + 60
    while len(victims) < 2 and time.monotonic() < deadline:
        time.sleep(0.5)
        found = subprocess.run(["pgrep", "-f", f"{TRAINER} --epochs 5 --threads 1 --save {checkpoint}"], capture_output=True, text=True)
        victims = [int(pid) for pid in found.stdout.split() if int(pid) != job.pid]
    time.sleep(3)  # into the training loop
    check(len(victims) >= 2, f"the two processes of the job are running: {victims}")
    if victims:
        os.kill(max(victims), signal.SIGKILL)
        killed_at = time.monotonic()
        try:
            _, stderr = job.communicate(timeout=30)
            ended = time.monotonic() - killed_at
            check(job.returncode != 0, f"a killed rank ends the job non-zero (exit {job.returncode}) in {ended:.1f} s")
        except subprocess.TimeoutExpired:
            job.kill()
            job.communicate()
            check(False, "a killed rank ends the job within 30 s")
        survivors = subprocess.run(["pgrep", "-f", f"--save {checkpoint}"], capture_output=True, text=True).stdout.split()
        check(not survivors, f"no process of the job is left: {survivors}")
        left = sorted(p.name for p in work.iterdir() if p.name.startswith("killed"))
        check(not left, f"no checkpoint, whole or partial, is left: {left}")
    else:
        job.kill()
        job.communicate()

    if "--opencl" in sys.argv:
        refused = trainer(2, "--sync-bn", "--device", "opencl")
        check(refused.returncode == 2 and "--sync-bn runs on the CPU only" in refused.stderr,
              f"--sync-bn on OpenCL is refused (exit {refused.returncode}): {refused.stderr.strip()[:300]}")
        gpu = run(MPIRUN + ["-n", "2", TRAINER, "--steps", "8", "--lr", "0.1", "--momentum", "0.9", "--seed", "3",
                            "--population-stats", "0", "--device", "opencl", "--save", str(work / "opencl.safetensors")])
        check(gpu.returncode == 0, f"mpirun -n 2 --device opencl trains (exit {gpu.returncode}): {output_of(gpu)[-600:]}")
        check("identical on the 2 processes" in gpu.stdout, "OpenCL: every process ends with the same parameters")
        if gpu.returncode == 0:
            cpu = run(MPIRUN + ["-n", "2", TRAINER, "--steps", "8", "--lr", "0.1", "--momentum", "0.9", "--seed", "3", "--threads", "1",
                                "--population-stats", "0", "--device", "cpu", "--save", str(work / "cpu8.safetensors")])
            difference = largest_difference(read_safetensors(work / "cpu8.safetensors"), read_safetensors(work / "opencl.safetensors"))
            check(difference <= 1e-4, f"OpenCL's data-parallel steps equal the CPU's within 1e-4: {difference:.2e}")

if FAILURES:
    print(f"{len(FAILURES)} checks failed")
    sys.exit(1)
print("all data-parallel checks passed")
