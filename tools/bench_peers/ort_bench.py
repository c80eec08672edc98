"""ONNX Runtime (CPU execution provider) on an exported CRATE graph: one warm-up, then ITERS timed
runs; prints one JSON line {"ms_per_image": [...], "threads": T, "batch": B}.

    python tools/bench_peers/ort_bench.py MODEL.onnx --threads 1 --iters 5
"""

import argparse
import json
import time

import numpy as np
import onnxruntime as ort


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--iters", type=int, default=5)
    a = ap.parse_args()
    so = ort.SessionOptions()
    so.intra_op_num_threads = a.threads
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    sess = ort.InferenceSession(a.model, so, providers=["CPUExecutionProvider"])
    shape = sess.get_inputs()[0].shape
    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    sess.run(None, {"x": x})
    ms = []
    for _ in range(a.iters):
        t = time.perf_counter()
        sess.run(None, {"x": x})
        ms.append((time.perf_counter() - t) * 1e3 / shape[0])
    print(json.dumps({"peer": "onnxruntime", "version": ort.__version__, "threads": a.threads,
                      "batch": shape[0], "ms_per_image": ms}))


if __name__ == "__main__":
    main()
