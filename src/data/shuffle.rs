//! A seeded epoch shuffler: epoch `e` of a run seeded with `s` visits the items in
//! [`permutation`]`(len, s, e)` order, whatever happened before, so a run saved as a
//! [`ShufflerState`] (seed, epoch, position) and restored later yields exactly the same batches.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::rng::{fnv1a64, SplitMix64};

/// Everything needed to restore a [`Shuffler`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShufflerState {
    pub seed: u64,
    /// Dataset size (checked on restore).
    pub len: usize,
    pub epoch: u64,
    /// Items of this epoch already handed out.
    pub position: usize,
}

/// The order of the `len` items in epoch `epoch`: a Fisher–Yates shuffle driven by
/// [`SplitMix64`] seeded from `(seed, epoch)`.
pub fn permutation(len: usize, seed: u64, epoch: u64) -> Vec<usize> {
    let a = SplitMix64::new(seed ^ fnv1a64("shuffle")).next_u64();
    let mut rng = SplitMix64::new(a ^ epoch);
    let mut order: Vec<usize> = (0..len).collect();
    for i in (1..len).rev() {
        let j = rng.below(i + 1);
        order.swap(i, j);
    }
    order
}

/// Hands out the items of a dataset in batches, one shuffled epoch after another.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Shuffler {
    state: ShufflerState,
    order: Vec<usize>,
}

impl Shuffler {
    /// At the start of epoch 0.
    pub fn new(len: usize, seed: u64) -> Self {
        Self {
            state: ShufflerState {
                seed,
                len,
                epoch: 0,
                position: 0,
            },
            order: permutation(len, seed, 0),
        }
    }

    /// Restores a saved state; `len` is the size of the dataset now, which must match.
    pub fn restore(state: ShufflerState, len: usize) -> Result<Self> {
        if state.len != len {
            return Err(Error::Dataset(format!(
                "cannot resume: the saved data order is for {} items but the dataset has {len}",
                state.len
            )));
        }
        if state.position > len {
            return Err(Error::Dataset(format!(
                "cannot resume: saved position {} is past the end of an epoch of {len} items",
                state.position
            )));
        }
        Ok(Self {
            state,
            order: permutation(len, state.seed, state.epoch),
        })
    }

    /// The state to save for an exact resume.
    pub fn state(&self) -> ShufflerState {
        self.state
    }

    pub fn epoch(&self) -> u64 {
        self.state.epoch
    }

    pub fn position(&self) -> usize {
        self.state.position
    }

    /// This epoch's order.
    pub fn order(&self) -> &[usize] {
        &self.order
    }

    /// Number of batches of `batch` items in an epoch (the last one may be short unless
    /// `drop_last`).
    pub fn batches_per_epoch(&self, batch: usize, drop_last: bool) -> usize {
        let batch = batch.max(1);
        if drop_last {
            self.state.len / batch
        } else {
            self.state.len.div_ceil(batch)
        }
    }

    /// The next batch of this epoch (at most `batch` indices), or `None` when the epoch is done
    /// (with `drop_last`, a remainder shorter than `batch` counts as done). Does not move to the
    /// next epoch: call [`Shuffler::next_epoch`].
    pub fn next_batch(&mut self, batch: usize, drop_last: bool) -> Option<Vec<usize>> {
        let batch = batch.max(1);
        let left = self.state.len - self.state.position;
        if left == 0 || (drop_last && left < batch) {
            return None;
        }
        let take = left.min(batch);
        let start = self.state.position;
        self.state.position += take;
        Some(self.order[start..start + take].to_vec())
    }

    /// Moves to the start of the next epoch.
    pub fn next_epoch(&mut self) {
        self.state.epoch += 1;
        self.state.position = 0;
        self.order = permutation(self.state.len, self.state.seed, self.state.epoch);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permutation_is_a_permutation() {
        let mut p = permutation(1000, 3, 5);
        assert_ne!(p, (0..1000).collect::<Vec<_>>());
        p.sort_unstable();
        assert_eq!(p, (0..1000).collect::<Vec<_>>());
        assert_ne!(permutation(1000, 3, 5), permutation(1000, 3, 6));
        assert!(permutation(0, 1, 1).is_empty());
    }

    #[test]
    fn batches_cover_the_epoch() {
        let mut s = Shuffler::new(10, 1);
        let mut seen = Vec::new();
        while let Some(b) = s.next_batch(4, false) {
            seen.extend(b);
        }
        assert_eq!(seen, s.order());
        assert_eq!(s.batches_per_epoch(4, false), 3);
        let mut s = Shuffler::new(10, 1);
        assert_eq!(std::iter::from_fn(|| s.next_batch(4, true)).count(), 2);
    }
}
