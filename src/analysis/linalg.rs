//! Small dense f64 linear algebra for the measures: Cholesky log-determinants and a symmetric
//! eigensolver (Householder tridiagonalisation + implicit QL, after JAMA/EISPACK tred2/tql2).
//! The eigensolver keeps the reference algorithm's index loops so it can be read against it.
#![allow(clippy::needless_range_loop)]

/// log det of a symmetric positive definite (n, n) matrix, by Cholesky. `None` if it is not
/// positive definite (or holds a NaN).
pub fn logdet_spd(mut a: Vec<f64>, n: usize) -> Option<f64> {
    let mut logdet = 0.0;
    for j in 0..n {
        let mut s = a[j * n + j];
        for k in 0..j {
            s -= a[j * n + k] * a[j * n + k];
        }
        if s.is_nan() || s <= 0.0 {
            return None;
        }
        let ljj = s.sqrt();
        a[j * n + j] = ljj;
        logdet += 2.0 * ljj.ln();
        for i in j + 1..n {
            let mut s = a[i * n + j];
            for k in 0..j {
                s -= a[i * n + k] * a[j * n + k];
            }
            a[i * n + j] = s / ljj;
        }
    }
    Some(logdet)
}

/// Eigen-decomposition of a symmetric (n, n) matrix: eigenvalues ascending and the matching
/// eigenvectors as columns of the returned (n, n) row-major matrix.
pub fn symmetric_eigen(a: &[f64], n: usize) -> (Vec<f64>, Vec<f64>) {
    let mut v: Vec<Vec<f64>> = (0..n).map(|i| a[i * n..(i + 1) * n].to_vec()).collect();
    let mut d = vec![0.0; n];
    let mut e = vec![0.0; n];
    if n > 0 {
        tred2(&mut v, &mut d, &mut e);
        tql2(&mut v, &mut d, &mut e);
    }
    let mut out = vec![0.0; n * n];
    for i in 0..n {
        for j in 0..n {
            out[i * n + j] = v[i][j];
        }
    }
    (d, out)
}

/// The eigenvalues (ascending) of a symmetric (n, n) matrix, without the eigenvectors: the same
/// reduction and QL iterations as [`symmetric_eigen`] minus the O(n³) accumulation of the
/// transformations, several times faster for the spectra of large matrices.
pub fn symmetric_eigenvalues(a: &[f64], n: usize) -> Vec<f64> {
    let mut v: Vec<Vec<f64>> = (0..n).map(|i| a[i * n..(i + 1) * n].to_vec()).collect();
    let mut d = vec![0.0; n];
    let mut e = vec![0.0; n];
    if n > 0 {
        tridiagonalise(&mut v, &mut d, &mut e);
        // After the reduction the tridiagonal's diagonal sits on v's diagonal (tred2 moves it
        // into d while accumulating the transformations).
        for j in 0..n {
            d[j] = v[j][j];
        }
        e[0] = 0.0;
        ql(&mut [], &mut d, &mut e);
    }
    d
}

fn tred2(v: &mut [Vec<f64>], d: &mut [f64], e: &mut [f64]) {
    let n = d.len();
    tridiagonalise(v, d, e);
    accumulate(v, d, e, n);
}

fn tql2(v: &mut [Vec<f64>], d: &mut [f64], e: &mut [f64]) {
    ql(v, d, e);
}

/// tred2's Householder reduction to tridiagonal form.
fn tridiagonalise(v: &mut [Vec<f64>], d: &mut [f64], e: &mut [f64]) {
    let n = d.len();
    d.copy_from_slice(&v[n - 1]);
    for i in (1..n).rev() {
        let mut scale = 0.0;
        let mut h = 0.0;
        for k in 0..i {
            scale += d[k].abs();
        }
        if scale == 0.0 {
            e[i] = d[i - 1];
            for j in 0..i {
                d[j] = v[i - 1][j];
                v[i][j] = 0.0;
                v[j][i] = 0.0;
            }
        } else {
            for k in 0..i {
                d[k] /= scale;
                h += d[k] * d[k];
            }
            let mut f = d[i - 1];
            let mut g = h.sqrt();
            if f > 0.0 {
                g = -g;
            }
            e[i] = scale * g;
            h -= f * g;
            d[i - 1] = f - g;
            for ej in e.iter_mut().take(i) {
                *ej = 0.0;
            }
            for j in 0..i {
                f = d[j];
                v[j][i] = f;
                g = e[j] + v[j][j] * f;
                for k in j + 1..i {
                    g += v[k][j] * d[k];
                    e[k] += v[k][j] * f;
                }
                e[j] = g;
            }
            f = 0.0;
            for j in 0..i {
                e[j] /= h;
                f += e[j] * d[j];
            }
            let hh = f / (h + h);
            for j in 0..i {
                e[j] -= hh * d[j];
            }
            for j in 0..i {
                f = d[j];
                g = e[j];
                for k in j..i {
                    v[k][j] -= f * e[k] + g * d[k];
                }
                d[j] = v[i - 1][j];
                v[i][j] = 0.0;
            }
        }
        d[i] = h;
    }
}

/// tred2's accumulation of the transformations into v.
fn accumulate(v: &mut [Vec<f64>], d: &mut [f64], e: &mut [f64], n: usize) {
    for i in 0..n - 1 {
        v[n - 1][i] = v[i][i];
        v[i][i] = 1.0;
        let h = d[i + 1];
        if h != 0.0 {
            for k in 0..=i {
                d[k] = v[k][i + 1] / h;
            }
            for j in 0..=i {
                let mut g = 0.0;
                for k in 0..=i {
                    g += v[k][i + 1] * v[k][j];
                }
                for k in 0..=i {
                    v[k][j] -= g * d[k];
                }
            }
        }
        for k in 0..=i {
            v[k][i + 1] = 0.0;
        }
    }
    for j in 0..n {
        d[j] = v[n - 1][j];
        v[n - 1][j] = 0.0;
    }
    v[n - 1][n - 1] = 1.0;
    e[0] = 0.0;
}

/// tql2's implicit QL iterations; `v` (the eigenvectors, rotated along) may be empty.
fn ql(v: &mut [Vec<f64>], d: &mut [f64], e: &mut [f64]) {
    let n = d.len();
    for i in 1..n {
        e[i - 1] = e[i];
    }
    e[n - 1] = 0.0;
    let mut f = 0.0;
    let mut tst1: f64 = 0.0;
    let eps = f64::EPSILON;
    for l in 0..n {
        tst1 = tst1.max(d[l].abs() + e[l].abs());
        let mut m = l;
        while m < n {
            if e[m].abs() <= eps * tst1 {
                break;
            }
            m += 1;
        }
        if m > l {
            let mut iter = 0;
            loop {
                iter += 1;
                let mut g = d[l];
                let mut p = (d[l + 1] - g) / (2.0 * e[l]);
                let mut r = p.hypot(1.0);
                if p < 0.0 {
                    r = -r;
                }
                d[l] = e[l] / (p + r);
                d[l + 1] = e[l] * (p + r);
                let dl1 = d[l + 1];
                let mut h = g - d[l];
                for di in d.iter_mut().take(n).skip(l + 2) {
                    *di -= h;
                }
                f += h;
                p = d[m];
                let mut c = 1.0;
                let mut c2 = c;
                let mut c3 = c;
                let el1 = e[l + 1];
                let mut s = 0.0;
                let mut s2 = 0.0;
                for i in (l..m).rev() {
                    c3 = c2;
                    c2 = c;
                    s2 = s;
                    g = c * e[i];
                    h = c * p;
                    r = p.hypot(e[i]);
                    e[i + 1] = s * r;
                    s = e[i] / r;
                    c = p / r;
                    p = c * d[i] - s * g;
                    d[i + 1] = h + s * (c * g + s * d[i]);
                    for row in v.iter_mut() {
                        h = row[i + 1];
                        row[i + 1] = s * row[i] + c * h;
                        row[i] = c * row[i] - s * h;
                    }
                }
                p = -s * s2 * c3 * el1 * e[l] / dl1;
                e[l] = s * p;
                d[l] = c * p;
                if e[l].abs() <= eps * tst1 || iter > 60 {
                    break;
                }
            }
        }
        d[l] += f;
        e[l] = 0.0;
    }
    // Sort ascending.
    for i in 0..n.saturating_sub(1) {
        let mut k = i;
        let mut p = d[i];
        for (j, &dj) in d.iter().enumerate().skip(i + 1) {
            if dj < p {
                k = j;
                p = dj;
            }
        }
        if k != i {
            d[k] = d[i];
            d[i] = p;
            for row in v.iter_mut() {
                row.swap(i, k);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eigen_reconstructs() {
        let n = 7;
        let r = crate::rng::uniform(3, "m", n * n, 1.0);
        let mut a = vec![0.0; n * n];
        for i in 0..n {
            for j in 0..n {
                a[i * n + j] = (r[i * n + j] + r[j * n + i]) as f64;
            }
        }
        let (w, v) = symmetric_eigen(&a, n);
        assert!(w.windows(2).all(|p| p[0] <= p[1]));
        for i in 0..n {
            for j in 0..n {
                let s: f64 = (0..n).map(|k| v[i * n + k] * w[k] * v[j * n + k]).sum();
                assert!((s - a[i * n + j]).abs() < 1e-10);
            }
        }
    }

    #[test]
    fn eigenvalues_alone_match_the_full_decomposition() {
        for n in [1, 2, 3, 8, 33] {
            let r = crate::rng::uniform(n as u64, "e", n * n, 1.0);
            let mut a = vec![0.0; n * n];
            for i in 0..n {
                for j in 0..n {
                    a[i * n + j] = (r[i * n + j] + r[j * n + i]) as f64;
                }
            }
            let (w, _) = symmetric_eigen(&a, n);
            let alone = symmetric_eigenvalues(&a, n);
            for (x, y) in w.iter().zip(&alone) {
                assert!(
                    (x - y).abs() < 1e-12 * (1.0 + x.abs()),
                    "n={n}: {w:?} vs {alone:?}"
                );
            }
        }
        // A repeated eigenvalue and a zero one: diag(2, 0) rotated, and 2.
        let c = 0.6f64;
        let s = 0.8f64;
        let a = [
            2.0 * c * c,
            2.0 * c * s,
            0.0, //
            2.0 * c * s,
            2.0 * s * s,
            0.0, //
            0.0,
            0.0,
            2.0,
        ];
        let w = symmetric_eigenvalues(&a, 3);
        assert!(w[0].abs() < 1e-15 && (w[1] - 2.0).abs() < 1e-15 && (w[2] - 2.0).abs() < 1e-15);
        assert!(symmetric_eigenvalues(&[], 0).is_empty());
    }

    #[test]
    fn logdet_of_diagonal() {
        let a = vec![2.0, 0.0, 0.0, 3.0];
        assert!((logdet_spd(a, 2).unwrap() - 6f64.ln()).abs() < 1e-12);
        assert!(logdet_spd(vec![-1.0], 1).is_none());
    }
}
