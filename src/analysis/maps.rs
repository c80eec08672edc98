//! Attention (saliency) maps and DINO-style mass-threshold masks.

/// CLS attention rows over the n patches for one image: attn is that image's (K, N, N)
/// probabilities; returns K rows of n = N - 1 values (on the patch grid, row-major).
pub fn cls_rows(attn: &[f32], heads: usize, nt: usize) -> Vec<Vec<f32>> {
    (0..heads)
        .map(|k| attn[k * nt * nt + 1..k * nt * nt + nt].to_vec())
        .collect()
}

/// The mean over heads of the CLS rows.
pub fn mean_map(rows: &[Vec<f32>]) -> Vec<f32> {
    let n = rows.first().map_or(0, Vec::len);
    let k = rows.len().max(1) as f32;
    (0..n)
        .map(|i| rows.iter().map(|r| r[i]).sum::<f32>() / k)
        .collect()
}

/// The smallest set of patches holding at least a fraction `t` of the map's mass (after
/// renormalising over the patches): sort descending (ties by lower index first) and keep the
/// shortest prefix whose cumulative mass reaches `t`.
pub fn mass_mask(map: &[f32], t: f32) -> Vec<bool> {
    let total: f64 = map.iter().map(|&v| v as f64).sum();
    let mut order: Vec<usize> = (0..map.len()).collect();
    order.sort_by(|&a, &b| map[b].total_cmp(&map[a]).then(a.cmp(&b)));
    let mut mask = vec![false; map.len()];
    if total.is_nan() || total <= 0.0 {
        return mask;
    }
    let mut cum = 0.0f64;
    for i in order {
        mask[i] = true;
        cum += map[i] as f64 / total;
        if cum >= t as f64 {
            break;
        }
    }
    mask
}
