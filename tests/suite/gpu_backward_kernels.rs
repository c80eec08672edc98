//! Each backward kernel against its CPU twin in `whitebox::grad`, on awkward shapes (widths not
//! multiples of 4 or of the 32 tile, d = 99 with 3 heads, N = 50, strided rows). Needs a wgpu
//! adapter (lavapipe in CI); fails, never skips, when there is none.

use crate::common;

use common::gpu::gpu;
use whitebox::gpu::backward::layernorm::{LnBackParams, LnBackward, LnGradSlots};
use whitebox::gpu::backward::matmul::{ColSum, Tn};
use whitebox::gpu::backward::{embed, head, ista, loss, mssa};

use whitebox::gpu::Gpu;
use whitebox::grad;
use whitebox::model::Dims;

const TOL: f32 = 1e-5;

fn rand(seed: u64, n: usize) -> Vec<f32> {
    whitebox::rng::uniform(seed, "backward-kernel-test", n, 1.0)
}

/// Max |a - b| / max(1, max |b|).
fn close(got: &[f32], want: &[f32], what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    let scale = want.iter().fold(1.0f32, |m, v| m.max(v.abs()));
    let err = got
        .iter()
        .zip(want)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f32, f32::max)
        / scale;
    eprintln!("{what}: max error {err:.2e} (relative to {scale:.2})");
    assert!(err < TOL, "{what}: max error {err}");
}

/// Both kernel families for the product: the tiled `tn` (real GPUs) and, where m and n are
/// multiples of 4, the register-blocked `tn_reg` (CPU-emulated adapters), whose 8×8 blocks are
/// partly outside C for m = 12, n = 20 and m = n = 36, and its subgroup form where the adapter
/// has subgroups (lavapipe does), equal to `tn_reg` bit for bit.
#[test]
fn tn_matmul_and_column_sums() {
    let mut g = gpu();
    let sg = Gpu::subgroup_kernels(&g.ctx);
    let mut plain = std::collections::HashMap::new();
    let variants = [(false, None), (true, None), (true, sg)];
    for ((reg, sub), &(k, m, n)) in variants.into_iter().flat_map(|r| {
        [
            (77usize, 37usize, 13usize),
            (64, 32, 32),
            (5, 1, 70),
            (300, 36, 36),
            (50, 12, 20),
            (9, 68, 4),
        ]
        .iter()
        .map(move |s| (r, s))
    }) {
        g.reg_kernels = reg;
        g.subgroups = sub;
        let a = rand(1, k * m);
        let b = rand(2, k * n);
        let c0 = rand(3, 7 + m * n);
        let (ab, bb, cb) = (g.upload(&a), g.upload(&b), g.upload(&c0));
        let out = g
            .run_blocking(
                |rec| {
                    // c[7..] = c0 + 0.5 a^T b
                    Tn {
                        a: &ab,
                        b: &bb,
                        c: &cb,
                        c_off: 7,
                        m,
                        n,
                        k,
                        alpha: 0.5,
                        accum: true,
                    }
                    .record(rec);
                    Ok(())
                },
                &[(&cb, 7 + m * n)],
            )
            .unwrap();
        let mut want = c0.clone();
        for i in 0..m {
            for j in 0..n {
                let s: f64 = (0..k)
                    .map(|r| a[r * m + i] as f64 * b[r * n + j] as f64)
                    .sum();
                want[7 + i * n + j] += 0.5 * s as f32;
            }
        }
        close(
            &out[0],
            &want,
            &format!("tn k={k} m={m} n={n} reg={reg} subgroups={sub:?}"),
        );
        match (reg, sub) {
            (true, None) => {
                plain.insert((k, m, n), out[0].clone());
            }
            (true, Some(_)) => assert!(
                plain[&(k, m, n)] == out[0],
                "tn k={k} m={m} n={n}: the subgroup form differs from tn_reg"
            ),
            _ => {}
        }
    }
    // column sums over strided rows, with and without a product
    let (rows, cols, ld, off) = (9usize, 13usize, 20usize, 3usize);
    let a = rand(4, off + rows * ld);
    let b = rand(5, rows * cols);
    let (ab, bb, ob) = (g.upload(&a), g.upload(&b), g.upload(&vec![0.0; 2 * cols]));
    let out = g
        .run_blocking(
            |rec| {
                for (bo, oo) in [(None, 0), (Some(&bb), cols)] {
                    ColSum {
                        a: &ab,
                        a_off: off,
                        ld,
                        b: bo,
                        out: &ob,
                        out_off: oo,
                        rows,
                        cols,
                        alpha: 1.0,
                        accum: false,
                        scratch: None,
                    }
                    .record(rec);
                }
                Ok(())
            },
            &[(&ob, 2 * cols)],
        )
        .unwrap();
    let mut want = vec![0.0f32; 2 * cols];
    for r in 0..rows {
        for c in 0..cols {
            let v = a[off + r * ld + c];
            want[c] += v;
            want[cols + c] += v * b[r * cols + c];
        }
    }
    close(&out[0], &want, "colsum");
}

#[test]
fn layernorm_backward_matches_cpu() {
    let mut g = gpu();
    // Both families: a workgroup per row (real GPUs) and an invocation per row (CPU adapters).
    for (reg, &(rows, dim, stride)) in [false, true].into_iter().flat_map(|r| {
        [
            (7usize, 99usize, 99usize),
            (5, 36, 50),
            (3, 200, 200),
            (70, 12, 12),
        ]
        .iter()
        .map(move |s| (r, s))
    }) {
        g.reg_kernels = reg;
        let x = rand(6, rows * stride);
        let gamma: Vec<f32> = rand(7, dim).iter().map(|v| 1.0 + 0.3 * v).collect();
        let dy = rand(8, rows * dim);
        let resid = rand(9, rows * dim);
        let xr: Vec<f32> = (0..rows)
            .flat_map(|r| x[r * stride..r * stride + dim].to_vec())
            .collect();
        let mut y = vec![0.0f32; rows * dim];
        let cache = grad::layernorm::forward(&xr, dim, &gamma, &vec![0.0; dim], &mut y);
        let mut dx = vec![0.0f32; rows * dim];
        let (mut dg, mut db) = (vec![0.0f32; dim], vec![0.0f32; dim]);
        grad::layernorm::backward(&cache, dim, &gamma, &dy, Some(&mut dx), &mut dg, &mut db);
        for (v, r) in dx.iter_mut().zip(&resid) {
            *v += r;
        }
        let (xb, gb, dyb, rb) = (
            g.upload(&x),
            g.upload(&gamma),
            g.upload(&dy),
            g.upload(&resid),
        );
        let (dxb, hb, gr) = (
            g.alloc(rows * dim),
            g.alloc(rows * dim),
            g.upload(&vec![0.0; 2 * dim]),
        );
        let out = g
            .run_blocking(
                |rec| {
                    LnBackward {
                        x: &xb,
                        gamma: &gb,
                        dy: &dyb,
                        resid: Some(&rb),
                        dx: Some(&dxb),
                        xhat: &hb,
                        grads: &gr,
                        slots: LnGradSlots {
                            gamma: 0,
                            beta: dim,
                        },
                        params: LnBackParams {
                            x_stride: stride as u32,
                            ..LnBackParams::rows(rows, dim)
                        },
                        scratch: None,
                    }
                    .record(rec);
                    Ok(())
                },
                &[(&dxb, rows * dim), (&gr, 2 * dim)],
            )
            .unwrap();
        close(
            &out[0],
            &dx,
            &format!("layernorm dx rows={rows} dim={dim} reg={reg}"),
        );
        let want: Vec<f32> = dg.iter().chain(&db).copied().collect();
        close(
            &out[1],
            &want,
            &format!("layernorm dgamma/dbeta dim={dim} reg={reg}"),
        );
    }
}

/// Both families; the register kernels take the shapes with d and dh multiples of 4, and their
/// subgroup forms (where the adapter has subgroups of 8: lavapipe) those with dh a multiple of
/// 32, equal to the plain register kernels bit for bit.
#[test]
fn mssa_backward_matches_cpu() {
    let mut g = gpu();
    let sg = Gpu::subgroup_kernels(&g.ctx);
    let mut plain = std::collections::HashMap::new();
    let variants = [(false, None), (true, None), (true, sg)];
    for ((reg, sub), &(b, nt, d, heads)) in variants.into_iter().flat_map(|r| {
        [
            (2usize, 50usize, 99usize, 3usize),
            (1, 17, 32, 2),
            (3, 13, 36, 3),
            (2, 70, 24, 2),
            (2, 70, 64, 2),
            (1, 37, 128, 2),
            (3, 13, 96, 3),
            (1, 21, 192, 2),
        ]
        .iter()
        .map(move |s| (r, s))
    }) {
        g.reg_kernels = reg;
        g.subgroups = sub;
        let w = rand(10, b * nt * d);
        let dout = rand(11, b * nt * d);
        let (probs, _) = grad::mssa::attention(&w, b, nt, d, heads);
        let want = grad::mssa::attention_backward(&w, &probs, &dout, b, nt, d, heads);
        let (wb, pb, db) = (g.upload(&w), g.upload(&probs), g.upload(&dout));
        let (dsb, dwb) = (g.alloc(probs.len()), g.alloc(b * nt * d));
        let out = g
            .run_blocking(
                |rec| {
                    let dims = Dims { b, nt, d, heads };
                    mssa::attention_backward(rec, &wb, &pb, &db, &dsb, &dwb, dims)
                },
                &[(&dwb, b * nt * d)],
            )
            .unwrap();
        close(
            &out[0],
            &want,
            &format!("mssa dw b={b} N={nt} d={d} K={heads} reg={reg} subgroups={sub:?}"),
        );
        match (reg, sub) {
            (true, None) => {
                plain.insert((b, nt, d, heads), out[0].clone());
            }
            (true, Some(_)) => assert!(
                plain[&(b, nt, d, heads)] == out[0],
                "mssa dw b={b} N={nt} d={d} K={heads}: the subgroup form differs"
            ),
            _ => {}
        }
    }
}

#[test]
fn loss_and_elementwise_kernels_match_cpu() {
    let mut g = gpu();
    let (b, classes) = (7usize, 11usize);
    let logits: Vec<f32> = rand(12, b * classes).iter().map(|v| 3.0 * v).collect();
    let labels: Vec<usize> = (0..b).map(|i| (i * 5) % classes).collect();
    let (want_loss, want_g) = grad::loss::cross_entropy(&logits, classes, &labels, 0.1f32);
    let lf: Vec<f32> = labels.iter().map(|&l| l as f32).collect();
    let (lb, lab) = (g.upload(&logits), g.upload(&lf));
    let (dl, rows) = (g.alloc(b * classes), g.alloc(2 * b));
    let out = g
        .run_blocking(
            |rec| {
                loss::cross_entropy(rec, &lb, &lab, [&dl, &rows], [b, classes], 0.1);
                Ok(())
            },
            &[(&dl, b * classes), (&rows, 2 * b)],
        )
        .unwrap();
    close(&out[0], &want_g, "cross-entropy dlogits");
    let l = out[1][..b].iter().sum::<f32>() / b as f32;
    close(&[l], &[want_loss], "cross-entropy loss");
    for i in 0..b {
        let row = &logits[i * classes..(i + 1) * classes];
        let am = whitebox::train::trainer::argmax(row);
        assert_eq!(out[1][b + i], (am == labels[i]) as u8 as f32);
    }

    // relu mask, add, drop_cls, scatter_cls on N = 13, d = 7
    let (bb, n, d) = (3usize, 12usize, 7usize);
    let nt = n + 1;
    let dz = rand(13, bb * nt * d);
    let z: Vec<f32> = rand(14, bb * nt * d);
    let (dzb, zb) = (g.upload(&dz), g.upload(&z));
    let (mb, ab, deb, scb) = (
        g.alloc(dz.len()),
        g.alloc(dz.len()),
        g.alloc(bb * n * d),
        g.alloc(bb * nt * d),
    );
    let dcls = rand(15, bb * d);
    let dcb = g.upload(&dcls);
    let out = g
        .run_blocking(
            |rec| {
                ista::relu_mask(rec, &dzb, &zb, &mb, dz.len());
                ista::add(rec, &dzb, &zb, &ab, dz.len());
                embed::drop_cls(rec, &dzb, &deb, bb, n, d);
                head::scatter_cls(rec, &dcb, &scb, bb, nt, d);
                Ok(())
            },
            &[
                (&mb, dz.len()),
                (&ab, dz.len()),
                (&deb, bb * n * d),
                (&scb, bb * nt * d),
            ],
        )
        .unwrap();
    let mask: Vec<f32> = dz
        .iter()
        .zip(&z)
        .map(|(a, b)| if *b > 0.0 { *a } else { 0.0 })
        .collect();
    let add: Vec<f32> = dz.iter().zip(&z).map(|(a, b)| a + b).collect();
    let drop: Vec<f32> = (0..bb)
        .flat_map(|i| dz[(i * nt + 1) * d..(i + 1) * nt * d].to_vec())
        .collect();
    let mut sc = vec![0.0f32; bb * nt * d];
    for i in 0..bb {
        sc[i * nt * d..i * nt * d + d].copy_from_slice(&dcls[i * d..(i + 1) * d]);
    }
    close(&out[0], &mask, "relu_mask");
    close(&out[1], &add, "add");
    close(&out[2], &drop, "drop_cls");
    close(&out[3], &sc, "scatter_cls");
}

#[test]
fn split_k_matmul_and_two_pass_column_sums() {
    let mut g = gpu();
    let scratch = g.alloc(1 << 16);
    for (reg, &(k, m, n)) in [false, true].into_iter().flat_map(|r| {
        [
            (1000usize, 37usize, 13usize),
            (6400, 36, 36),
            (300, 5, 70),
            (700, 20, 12),
        ]
        .iter()
        .map(move |s| (r, s))
    }) {
        g.reg_kernels = reg;
        let a = rand(21, k * m);
        let b = rand(22, k * n);
        let c0 = rand(23, 3 + m * n);
        let (ab, bb, cb) = (g.upload(&a), g.upload(&b), g.upload(&c0));
        let out = g
            .run_blocking(
                |rec| {
                    Tn {
                        a: &ab,
                        b: &bb,
                        c: &cb,
                        c_off: 3,
                        m,
                        n,
                        k,
                        alpha: -0.5,
                        accum: true,
                    }
                    .record_split(rec, &scratch);
                    Ok(())
                },
                &[(&cb, 3 + m * n)],
            )
            .unwrap();
        let mut want = c0.clone();
        for i in 0..m {
            for j in 0..n {
                let s: f64 = (0..k)
                    .map(|r| a[r * m + i] as f64 * b[r * n + j] as f64)
                    .sum();
                want[3 + i * n + j] -= 0.5 * s as f32;
            }
        }
        close(
            &out[0],
            &want,
            &format!("tn_split k={k} m={m} n={n} reg={reg}"),
        );
    }
    let (rows, cols, ld, off) = (1500usize, 13usize, 20usize, 3usize);
    let a = rand(24, off + rows * ld);
    let b = rand(25, rows * cols);
    let (ab, bb) = (g.upload(&a), g.upload(&b));
    let ob = g.upload(&vec![1.0; cols]);
    let out = g
        .run_blocking(
            |rec| {
                ColSum {
                    a: &ab,
                    a_off: off,
                    ld,
                    b: Some(&bb),
                    out: &ob,
                    out_off: 0,
                    rows,
                    cols,
                    alpha: 2.0,
                    accum: true,
                    scratch: Some(&scratch),
                }
                .record(rec);
                Ok(())
            },
            &[(&ob, cols)],
        )
        .unwrap();
    let mut want = vec![0.0f64; cols];
    for r in 0..rows {
        for c in 0..cols {
            want[c] += a[off + r * ld + c] as f64 * b[r * cols + c] as f64;
        }
    }
    let want: Vec<f32> = want.iter().map(|v| (1.0 + 2.0 * v) as f32).collect();
    close(&out[0], &want, "two-pass colsum");
    // a scratch too small for 256-row chunks: fewer, longer chunks still cover every row
    let small = g.alloc(3 * cols);
    let ob2 = g.upload(&vec![0.0; cols]);
    let out = g
        .run_blocking(
            |rec| {
                ColSum {
                    a: &ab,
                    a_off: off,
                    ld,
                    b: Some(&bb),
                    out: &ob2,
                    out_off: 0,
                    rows,
                    cols,
                    alpha: 2.0,
                    accum: false,
                    scratch: Some(&small),
                }
                .record(rec);
                Ok(())
            },
            &[(&ob2, cols)],
        )
        .unwrap();
    let want2: Vec<f32> = want.iter().map(|v| v - 1.0).collect();
    close(&out[0], &want2, "two-pass colsum, 3 chunks");
}
