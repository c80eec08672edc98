//! The stratified, seeded train / held-out split of own images.

use crate::rng::{fnv1a64, SplitMix64};

/// Items per class held out: `round(n · holdout)`, at least one when `holdout > 0` and the class
/// has two or more items, and never all of them.
pub fn held_out(n: usize, holdout: f32) -> usize {
    if n < 2 || holdout <= 0.0 {
        return 0;
    }
    ((n as f64 * holdout as f64).round() as usize).clamp(1, n - 1)
}

/// (train, test) indices into `labels`, each in increasing order: every class's items are
/// shuffled with `seed` (Fisher–Yates on [`SplitMix64`]) and the first [`held_out`] of them
/// go to the test side.
pub fn stratified(
    labels: &[usize],
    classes: usize,
    holdout: f32,
    seed: u64,
) -> (Vec<usize>, Vec<usize>) {
    let mut rng = SplitMix64::new(seed ^ fnv1a64("own-images/split"));
    let mut is_test = vec![false; labels.len()];
    for c in 0..classes {
        let mut idx: Vec<usize> = (0..labels.len()).filter(|&i| labels[i] == c).collect();
        for i in (1..idx.len()).rev() {
            let j = rng.below(i + 1);
            idx.swap(i, j);
        }
        for &i in &idx[..held_out(idx.len(), holdout)] {
            is_test[i] = true;
        }
    }
    let (test, train): (Vec<usize>, Vec<usize>) = (0..labels.len()).partition(|&i| is_test[i]);
    (train, test)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_class_holds_out_its_share() {
        assert_eq!(held_out(1, 0.15), 0);
        assert_eq!(held_out(2, 0.15), 1);
        assert_eq!(held_out(20, 0.15), 3);
        assert_eq!(held_out(100, 0.15), 15);
        assert_eq!(held_out(100, 0.0), 0);
        assert_eq!(held_out(3, 0.99), 2);
        let labels: Vec<usize> = (0..300).map(|i| usize::from(i >= 100)).collect();
        let (tr, te) = stratified(&labels, 2, 0.15, 7);
        assert_eq!((tr.len(), te.len()), (255, 45));
        assert_eq!(te.iter().filter(|&&i| labels[i] == 0).count(), 15);
        assert_eq!(stratified(&labels, 2, 0.15, 7), (tr.clone(), te.clone()));
        assert_ne!(stratified(&labels, 2, 0.15, 8).1, te);
    }
}
