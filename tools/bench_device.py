"""Issue 15's hardware-GPU figures (its target 6), Whitebox's WGSL engine against PyTorch eager
fp32 on the same card, measured A B A B in one run:

  matmul side³ (default 4096³)        whitebox `bench --matmul`    the card's fp32 peak (and
                                                                     torch.matmul, for scale)
  CRATE-T forward, batch 256          whitebox `bench`              the official architecture
                                                                     (tools/official_crate.py)
  training crate-fmnist, batch 128    whitebox `bench --train`      the same model, AdamW

PyTorch runs in fp32 with TF32 off (`allow_tf32 = False`, matmul precision "highest"), so both
sides do the same arithmetic. The fp32 peak is SMs × fp32 lanes per SM × 2 × the SM's highest
clock (nvidia-smi). Prints a table and writes every sample as JSON (--out). Asserts nothing
about time. Run it through scripts/bench-device.sh, which sets up the Vulkan loader first.

  python3 tools/bench_device.py --whitebox target/release/whitebox [--rounds 3] [--out F]
  python3 tools/bench_device.py --whitebox ... --no-torch --matmul-size 512 \\
      --forward-batch 2 --train-batch 8      # the Whitebox side alone (a dry run, any adapter)
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))

# fp32 lanes per SM by compute capability (CUDA C++ Programming Guide, throughput table).
FP32_LANES = {(7, 0): 64, (7, 5): 64, (8, 0): 64, (8, 6): 128, (8, 7): 128, (8, 9): 128,
              (9, 0): 128, (10, 0): 128, (12, 0): 128}


def whitebox(binary, args):
    """Runs `whitebox bench ... --json` and returns its JSON lines."""
    out = subprocess.run([binary, "bench", *args, "--json"], check=True, capture_output=True,
                         text=True)
    return [json.loads(l) for l in out.stdout.splitlines() if l.startswith("{")]


def wb_matmul(a):
    rows = whitebox(a.whitebox, ["--engine", "gpu", "--matmul", "--matmul-size",
                                 str(a.matmul_size), "--preset", "crate-t", "--batch", "1",
                                 "--iters", str(a.iters)])
    r = next(r for r in rows if r["name"] == f"{a.matmul_size}^3")
    return r["gflops"] / 1e3


def wb_forward(a):
    (r,) = whitebox(a.whitebox, ["--engine", "gpu", "--preset", "crate-t", "--batch",
                                 str(a.forward_batch), "--iters", str(a.iters)])
    return 1e3 / r["ms_per_image"]


def wb_train(a):
    (r,) = whitebox(a.whitebox, ["--engine", "gpu", "--train", "--preset", "crate-fmnist",
                                 "--batch", str(a.train_batch), "--iters", str(a.iters)])
    a.adapter = r["engine"]  # "gpu (adapter name)"
    return r["images_per_s"]


def preset_config(binary, preset):
    """The preset's config as Whitebox defines it (src/model/config.rs): the `config` metadata
    of a model `whitebox init` writes, which tools/official_crate.py's build_model takes."""
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "init.safetensors")
        subprocess.run([binary, "init", "--preset", preset, "-o", path], check=True,
                       capture_output=True)
        with open(path, "rb") as f:
            header = json.loads(f.read(int.from_bytes(f.read(8), "little")))
    return json.loads(header["__metadata__"]["config"])


class Torch:
    def __init__(self, a):
        import torch
        sys.path.insert(0, HERE)
        from official_crate import build_model

        self.torch, self.a = torch, a
        assert torch.cuda.is_available(), "PyTorch sees no CUDA device"
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
        torch.set_float32_matmul_precision("highest")
        self.dev = torch.device("cuda")
        self.build = build_model

    def timed(self, step, iters):
        """Seconds per call of `step`, after three warm-up calls."""
        for _ in range(3):
            step()
        self.torch.cuda.synchronize()
        t = time.perf_counter()
        for _ in range(iters):
            step()
        self.torch.cuda.synchronize()
        return (time.perf_counter() - t) / iters

    def matmul(self):
        n = self.a.matmul_size
        x = self.torch.randn(n, n, device=self.dev)
        y = self.torch.randn(n, n, device=self.dev)
        return 2 * n**3 / self.timed(lambda: x @ y, self.a.iters) / 1e12

    def forward(self):
        cfg, b = preset_config(self.a.whitebox, "crate-t"), self.a.forward_batch
        model = self.build(cfg).to(self.dev).eval()
        x = self.torch.randn(b, cfg["channels"], *cfg["image"], device=self.dev)
        with self.torch.no_grad():
            return b / self.timed(lambda: model(x), self.a.iters)

    def train(self):
        torch, b = self.torch, self.a.train_batch
        cfg = preset_config(self.a.whitebox, "crate-fmnist")
        model = self.build(cfg).to(self.dev).train()
        opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
        x = torch.randn(b, cfg["channels"], *cfg["image"], device=self.dev)
        y = torch.randint(0, cfg["classes"], (b,), device=self.dev)

        def step():
            loss = torch.nn.functional.cross_entropy(model(x), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()

        return b / self.timed(step, self.a.iters)

    def peak_tflops(self):
        props = self.torch.cuda.get_device_properties(0)
        lanes = FP32_LANES.get((props.major, props.minor))
        try:
            mhz = float(subprocess.run(
                ["nvidia-smi", "--query-gpu=clocks.max.sm", "--format=csv,noheader,nounits"],
                check=True, capture_output=True, text=True).stdout.split()[0])
        except (OSError, subprocess.CalledProcessError, ValueError, IndexError):
            mhz = None
        name = f"{props.name}, {props.multi_processor_count} SMs, sm_{props.major}{props.minor}"
        if lanes is None or mhz is None:
            return None, name
        return props.multi_processor_count * lanes * 2 * mhz * 1e6 / 1e12, f"{name}, {mhz:.0f} MHz"


def spread(v):
    return f"{statistics.median(v):.4g} ({min(v):.4g}–{max(v):.4g})" if v else "—"


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--whitebox", default="target/release/whitebox")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--iters", type=int, default=10)
    p.add_argument("--matmul-size", type=int, default=4096)
    p.add_argument("--forward-batch", type=int, default=256)
    p.add_argument("--train-batch", type=int, default=128)
    p.add_argument("--no-torch", action="store_true", help="the Whitebox side alone")
    p.add_argument("--out", help="write every sample here as JSON")
    a = p.parse_args()

    torch = None if a.no_torch else Torch(a)
    rows = [
        ("matmul", f"matmul {a.matmul_size}³ (TFLOP/s)", wb_matmul,
         torch and torch.matmul),
        ("forward", f"CRATE-T forward, batch {a.forward_batch} (images/s)", wb_forward,
         torch and torch.forward),
        ("train", f"training crate-fmnist, batch {a.train_batch} (images/s)", wb_train,
         torch and torch.train),
    ]
    samples = {key: {"whitebox": [], "torch": []} for key, *_ in rows}
    for r in range(a.rounds):
        for key, _, wb, pt in rows:
            samples[key]["whitebox"].append(wb(a))
            if pt:
                samples[key]["torch"].append(pt())
            print(f"round {r + 1}: {key} {samples[key]}", file=sys.stderr, flush=True)

    peak, card = torch.peak_tflops() if torch else (None, "PyTorch not run")
    print(f"Whitebox on {a.adapter}")
    print(f"{card}; fp32 peak {peak:.1f} TFLOP/s" if peak else card)
    print("| | Whitebox (WGSL) | PyTorch eager fp32 | Whitebox / PyTorch |")
    print("|---|---|---|---|")
    for key, label, *_ in rows:
        w, t = samples[key]["whitebox"], samples[key]["torch"]
        ratio = f"{statistics.median(w) / statistics.median(t):.2f}" if t else "—"
        print(f"| {label} | {spread(w)} | {spread(t)} | {ratio} |")
    if peak:
        w = statistics.median(samples["matmul"]["whitebox"])
        print(f"matmul: Whitebox at {w / peak:.0%} of the fp32 peak (target ≥ 50 %); PyTorch "
              f"at {statistics.median(samples['matmul']['torch']) / peak:.0%}")
    if a.out:
        with open(a.out, "w") as f:
            json.dump({"card": card, "fp32_peak_tflops": peak, "adapter": a.adapter,
                       "samples": samples,
                       "settings": vars(a)}, f, indent=1)


if __name__ == "__main__":
    main()
