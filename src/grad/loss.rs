//! Softmax cross-entropy with label smoothing, mean over the batch (PyTorch's
//! `F.cross_entropy(logits, labels, label_smoothing=s)`).
//!
//! Target `t = (1 - s) onehot + s / C`; `loss_b = -sum_c t_c log softmax(z)_c`;
//! `dL/dz_b = (softmax(z_b) - t_b) / B`.

use super::Real;

/// Returns the mean loss and its gradient with respect to the logits (B, classes).
pub fn cross_entropy<T: Real>(
    logits: &[T],
    classes: usize,
    labels: &[usize],
    smoothing: T,
) -> (T, Vec<T>) {
    cross_entropy_over(logits, classes, labels, smoothing, labels.len())
}

/// [`cross_entropy`] of a shard of a batch of `batch` images: the shard's summed loss divided
/// by `batch`, and its gradient, so that the shards of a batch add up to the batch's mean
/// (`crate::train::shard`). With `batch` = the shard's size it is [`cross_entropy`].
pub fn cross_entropy_over<T: Real>(
    logits: &[T],
    classes: usize,
    labels: &[usize],
    smoothing: T,
    batch: usize,
) -> (T, Vec<T>) {
    let b = labels.len();
    assert_eq!(logits.len(), b * classes);
    let bt = T::from_f64(batch as f64);
    let off = smoothing / T::from_f64(classes as f64);
    let on = T::ONE - smoothing + off;
    let mut grad = vec![T::ZERO; logits.len()];
    let mut total = T::ZERO;
    for ((row, g), &label) in logits
        .chunks_exact(classes)
        .zip(grad.chunks_exact_mut(classes))
        .zip(labels)
    {
        assert!(
            label < classes,
            "label {label} is not below the {classes} classes"
        );
        let mut max = row[0];
        for &v in row {
            if v > max {
                max = v;
            }
        }
        let mut s = T::ZERO;
        for (gi, &v) in g.iter_mut().zip(row) {
            *gi = (v - max).exp();
            s += *gi;
        }
        let lse = max + s.ln();
        for (c, (gi, &v)) in g.iter_mut().zip(row).enumerate() {
            let t = if c == label { on } else { off };
            total += t * (lse - v);
            *gi = (*gi / s - t) / bt;
        }
    }
    (total / bt, grad)
}
