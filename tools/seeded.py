"""Seeded uniform streams, bit-exact with `src/rng.rs`.

Stream for (seed, name): s0 = seed XOR fnv1a64(name) (FNV-1a 64 over the UTF-8 bytes,
offset 0xcbf29ce484222325, prime 0x100000001b3). Value i (from 0) is
mix(s0 + (i + 1) * 0x9E3779B97F4A7C15 mod 2^64) with SplitMix64's finaliser

    mix(z): z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9
            z = (z ^ (z >> 27)) * 0x94D049BB133111EB
            return z ^ (z >> 31)            (all mod 2^64)

uniform01 = float32(v >> 40) / 2^24 (exact: a 24-bit integer over a power of two), and
uniform(seed, name, n, bound) = bound * (2 * u - 1), every operation in float32 as Rust's f32
arithmetic does it (2u - 1 is exact; the product is rounded once to float32).

Run `python3 tools/seeded.py` for a self-check that prints a few values.
"""

import numpy as np

GOLDEN = np.uint64(0x9E3779B97F4A7C15)
M1 = np.uint64(0xBF58476D1CE4E5B9)
M2 = np.uint64(0x94D049BB133111EB)
MASK64 = (1 << 64) - 1


def fnv1a64(name: str) -> int:
    h = 0xCBF29CE484222325
    for b in name.encode("utf-8"):
        h ^= b
        h = (h * 0x100000001B3) & MASK64
    return h


def _mix(z: np.ndarray) -> np.ndarray:
    z = (z ^ (z >> np.uint64(30))) * M1
    z = (z ^ (z >> np.uint64(27))) * M2
    return z ^ (z >> np.uint64(31))


def raw_u64(seed: int, name: str, n: int) -> np.ndarray:
    """The n raw 64-bit values of the stream (seed, name)."""
    s0 = np.uint64((int(seed) & MASK64) ^ fnv1a64(name))
    with np.errstate(over="ignore"):
        i = np.arange(1, n + 1, dtype=np.uint64)
        return _mix(s0 + i * GOLDEN)


def uniform01(seed: int, name: str, n: int) -> np.ndarray:
    """n float32 uniforms in [0, 1)."""
    v = raw_u64(seed, name, n) >> np.uint64(40)
    return v.astype(np.float32) / np.float32(1 << 24)


def uniform(seed: int, name: str, n: int, bound) -> np.ndarray:
    """n float32 uniforms in [-bound, bound); bound is cast to float32 first."""
    u = uniform01(seed, name, n)
    b = np.float32(bound)
    return (b * (np.float32(2.0) * u - np.float32(1.0))).astype(np.float32)


def _scalar_reference(seed: int, name: str, n: int):
    """Plain-Python (arbitrary precision ints) version, used only by the self-check."""
    s0 = (seed & MASK64) ^ fnv1a64(name)
    out = []
    for i in range(n):
        z = (s0 + (i + 1) * 0x9E3779B97F4A7C15) & MASK64
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
        z ^= z >> 31
        out.append(z)
    return out


if __name__ == "__main__":
    print("fnv1a64('') = %#018x (expect 0xcbf29ce484222325)" % fnv1a64(""))
    print("fnv1a64('a') = %#018x (expect 0xaf63dc4c8601ec8c)" % fnv1a64("a"))
    assert fnv1a64("") == 0xCBF29CE484222325 and fnv1a64("a") == 0xAF63DC4C8601EC8C
    # SplitMix64 with state 0: the first outputs are the well-known reference values.
    ref = _scalar_reference(1234, "cls_token", 1000)
    got = raw_u64(1234, "cls_token", 1000)
    assert [int(x) for x in got] == ref, "numpy stream differs from the scalar reference"
    # SplitMix64 seeded with 0 (the classic test vector): 0xe220a8397b1dcdaf, 0x6e789e6aa1b965f4
    s0 = fnv1a64("x")  # seed ^ fnv = 0 when seed == fnv
    z = raw_u64(s0, "x", 2)
    print("splitmix64(0) first two: %#018x %#018x (expect 0xe220a8397b1dcdaf 0x6e789e6aa1b965f4)"
          % (int(z[0]), int(z[1])))
    assert int(z[0]) == 0xE220A8397B1DCDAF and int(z[1]) == 0x6E789E6AA1B965F4
    u = uniform01(42, "x", 5)
    print("uniform01(42, 'x', 5) =", [float(x) for x in u])
    print("  as f32 bits:", [hex(int(b)) for b in u.view(np.uint32)])
    w = uniform(1, "transformer.layers.0.0.fn.qkv.weight", 4, np.float32(1.0 / np.sqrt(128.0)))
    print("uniform(1, 'transformer.layers.0.0.fn.qkv.weight', 4, 1/sqrt(128)) =",
          [float(x) for x in w], [hex(int(b)) for b in w.view(np.uint32)])
    x = uniform(11, "input", 4, 1.7320508)
    print("uniform(11, 'input', 4, 1.7320508) =", [float(x) for x in x])
    assert np.all((u >= 0) & (u < 1))
    print("seeded.py self-check OK")
