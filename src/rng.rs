//! A tiny counter-based generator (SplitMix64) that NumPy reproduces exactly, so that test
//! fixtures can regenerate large random tensors from a seed instead of committing them, and so
//! that initialisation is the same on every platform. Not for cryptography.
//!
//! Stream for `(seed, name)`: `s0 = seed ^ fnv1a64(name)`; value `i` (from 0) is
//! `mix(s0 + (i + 1) * 0x9E3779B97F4A7C15)` with SplitMix64's finaliser `mix`, and the uniform
//! in [0, 1) is `(value >> 40) / 2^24`. `tools/golden.py` implements the same.

const GOLDEN: u64 = 0x9E37_79B9_7F4A_7C15;

pub fn fnv1a64(s: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in s.bytes() {
        h ^= b as u64;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// `n` uniforms in [0, 1) from the stream `(seed, name)`.
pub fn uniform01(seed: u64, name: &str, n: usize) -> Vec<f32> {
    let s0 = seed ^ fnv1a64(name);
    (0..n as u64)
        .map(|i| {
            let v = mix(s0.wrapping_add((i + 1).wrapping_mul(GOLDEN)));
            (v >> 40) as f32 / (1u64 << 24) as f32
        })
        .collect()
}

/// `n` uniforms in [-bound, bound) from the stream `(seed, name)`.
pub fn uniform(seed: u64, name: &str, n: usize, bound: f32) -> Vec<f32> {
    uniform01(seed, name, n)
        .into_iter()
        .map(|u| bound * (2.0 * u - 1.0))
        .collect()
}

/// A sequential generator for data pipelines (shuffles, augmentation): the same SplitMix64.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SplitMix64 {
    pub state: u64,
}

impl SplitMix64 {
    pub fn new(seed: u64) -> Self {
        Self { state: seed }
    }
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(GOLDEN);
        mix(self.state)
    }
    /// Uniform in [0, 1).
    pub fn next_f32(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 / (1u64 << 24) as f32
    }
    /// Uniform integer in [0, n) (n > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (((self.next_u64() >> 11) as u128 * n as u128) >> 53) as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_matches_sequential_generator() {
        // The counter form and the sequential form are the same SplitMix64 stream.
        let seed = 42u64;
        let mut g = SplitMix64::new(seed ^ fnv1a64("x"));
        let a = uniform01(seed, "x", 5);
        let b: Vec<f32> = (0..5).map(|_| g.next_f32()).collect();
        assert_eq!(a, b);
        assert!(a.iter().all(|u| (0.0..1.0).contains(u)));
        assert_ne!(uniform01(seed, "y", 5), a);
    }
}
