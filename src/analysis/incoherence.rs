//! Subspace incoherence: how much the heads' subspaces overlap.

/// For U (d, d) whose rows k*dh..(k+1)*dh span head k's subspace: `||Q_i Q_j^T||_F / sqrt(dh)`
/// with Q_k the orthonormalised rows of U_k, as a row-major (K, K) matrix. 0 means orthogonal
/// subspaces, 1 equal ones.
pub fn incoherence(u: &[f32], d: usize, heads: usize) -> Vec<f64> {
    let dh = d / heads;
    let qs: Vec<Vec<f64>> = (0..heads)
        .map(|k| orthonormal_rows(&u[k * dh * d..(k + 1) * dh * d], dh, d))
        .collect();
    let mut out = vec![0.0f64; heads * heads];
    for i in 0..heads {
        for j in 0..heads {
            let mut s = 0.0;
            for a in 0..dh {
                for b in 0..dh {
                    let dot: f64 = qs[i][a * d..][..d]
                        .iter()
                        .zip(&qs[j][b * d..][..d])
                        .map(|(x, y)| x * y)
                        .sum();
                    s += dot * dot;
                }
            }
            out[i * heads + j] = s.sqrt() / (dh as f64).sqrt();
        }
    }
    out
}

/// Modified Gram–Schmidt (twice, for stability) on `rows` vectors of length `d`. A row that is
/// (numerically) in the span of the earlier ones becomes zero.
pub fn orthonormal_rows(u: &[f32], rows: usize, d: usize) -> Vec<f64> {
    let mut q: Vec<f64> = u.iter().map(|&v| v as f64).collect();
    for i in 0..rows {
        for _ in 0..2 {
            for j in 0..i {
                let dot: f64 = (0..d).map(|c| q[i * d + c] * q[j * d + c]).sum();
                for c in 0..d {
                    q[i * d + c] -= dot * q[j * d + c];
                }
            }
        }
        let norm = (0..d).map(|c| q[i * d + c].powi(2)).sum::<f64>().sqrt();
        let inv = if norm > 1e-12 { 1.0 / norm } else { 0.0 };
        for c in 0..d {
            q[i * d + c] *= inv;
        }
    }
    q
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orthogonal_and_equal_subspaces() {
        // d = 4, two heads of dh = 2: head 0 spans e0, e1; head 1 spans e2, e3.
        let mut u = vec![0.0f32; 16];
        for i in 0..4 {
            u[i * 4 + i] = 2.0;
        }
        let m = incoherence(&u, 4, 2);
        assert!((m[0] - 1.0).abs() < 1e-12 && (m[3] - 1.0).abs() < 1e-12);
        assert!(m[1].abs() < 1e-12 && m[2].abs() < 1e-12);
        // Head 1 spanning the same plane with another basis: incoherence 1.
        let u2 = [
            1.0, 1.0, 0.0, 0.0, 1.0, -1.0, 0.0, 0.0, 3.0, 0.0, 0.0, 0.0, 0.0, 5.0, 0.0, 0.0,
        ];
        let m2 = incoherence(&u2, 4, 2);
        assert!((m2[1] - 1.0).abs() < 1e-12, "{m2:?}");
    }
}
