//! Bicubic resampling of the position embedding's patch grid, exactly as PyTorch's
//! `F.interpolate(mode="bicubic", align_corners=False)` (A = -0.75, borders clamped).

const A: f64 = -0.75;

fn cubic_weights(t: f64) -> [f64; 4] {
    let w0 = ((A * (t + 1.0) - 5.0 * A) * (t + 1.0) + 8.0 * A) * (t + 1.0) - 4.0 * A;
    let w1 = ((A + 2.0) * t - (A + 3.0)) * t * t + 1.0;
    let u = 1.0 - t;
    let w2 = ((A + 2.0) * u - (A + 3.0)) * u * u + 1.0;
    let w3 = ((A * (u + 1.0) - 5.0 * A) * (u + 1.0) + 8.0 * A) * (u + 1.0) - 4.0 * A;
    [w0, w1, w2, w3]
}

/// For each output index: the four clamped source indices and their weights.
fn taps(inp: usize, out: usize) -> Vec<([usize; 4], [f64; 4])> {
    let scale = inp as f64 / out as f64;
    (0..out)
        .map(|o| {
            let real = scale * (o as f64 + 0.5) - 0.5;
            let i0 = real.floor();
            let w = cubic_weights(real - i0);
            let idx = [-1i64, 0, 1, 2].map(|d| (i0 as i64 + d).clamp(0, inp as i64 - 1) as usize);
            (idx, w)
        })
        .collect()
}

/// Resamples a (h, w, c) grid (channels last, as the embedding stores it) to (h2, w2, c).
pub fn bicubic_hwc(src: &[f32], h: usize, w: usize, c: usize, h2: usize, w2: usize) -> Vec<f32> {
    if (h, w) == (h2, w2) {
        return src.to_vec();
    }
    let ty = taps(h, h2);
    let tx = taps(w, w2);
    let mut out = vec![0.0f32; h2 * w2 * c];
    let mut acc = vec![0.0f64; c];
    for (oy, (iy, wy)) in ty.iter().enumerate() {
        for (ox, (ix, wx)) in tx.iter().enumerate() {
            acc.fill(0.0);
            for (a, &sy) in iy.iter().enumerate() {
                for (b, &sx) in ix.iter().enumerate() {
                    let wgt = wy[a] * wx[b];
                    let row = &src[(sy * w + sx) * c..][..c];
                    for (s, &v) in acc.iter_mut().zip(row) {
                        *s += wgt * v as f64;
                    }
                }
            }
            for (o, s) in out[(oy * w2 + ox) * c..][..c].iter_mut().zip(&acc) {
                *o = *s as f32;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_and_constant() {
        let src: Vec<f32> = (0..3 * 4 * 2).map(|i| i as f32).collect();
        assert_eq!(bicubic_hwc(&src, 3, 4, 2, 3, 4), src);
        // The cubic weights sum to one, so a constant grid stays constant at any size.
        let ones = vec![1.5f32; 5 * 5];
        for v in bicubic_hwc(&ones, 5, 5, 1, 7, 3) {
            assert!((v - 1.5).abs() < 1e-6);
        }
    }
}
