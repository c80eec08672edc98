//! Each WGSL kernel against the CPU engine's function, on tile-fitting and awkward shapes
//! (d = 99 with 3 heads, N = 50), batch 1 and > 1. Needs a wgpu adapter (lavapipe in CI);
//! fails, never skips, when there is none.

use crate::common;

use common::gpu::gpu;
use common::*;
use whitebox::cpu;
use whitebox::gpu::matmul::{linear, Matmul, MatmulParams};
use whitebox::gpu::{embed, layer, layernorm, mssa, Gpu};
use whitebox::model::Dims;

const TOL: f64 = 1e-5;

fn rand(seed: u64, n: usize) -> Vec<f32> {
    whitebox::rng::uniform(seed, "kernel-test", n, 1.0)
}

/// Reference `alpha * a·op(b) (+bias) (+extra) - shift`, ReLU optional, in f64.
#[allow(clippy::too_many_arguments)]
fn reference(
    a: &[f32],
    b: &[f32],
    m: usize,
    n: usize,
    k: usize,
    trans_b: bool,
    alpha: f32,
    bias: Option<&[f32]>,
    extra: Option<&[f32]>,
    shift: f32,
    relu: bool,
) -> Vec<f32> {
    let mut c = vec![0.0f32; m * n];
    for i in 0..m {
        for j in 0..n {
            let mut s = 0.0f64;
            for p in 0..k {
                let bv = if trans_b { b[j * k + p] } else { b[p * n + j] };
                s += a[i * k + p] as f64 * bv as f64;
            }
            let mut v = alpha as f64 * s;
            if let Some(bi) = bias {
                v += bi[j] as f64;
            }
            if let Some(e) = extra {
                v += e[i * n + j] as f64;
            }
            v -= shift as f64;
            if relu && v < 0.0 {
                v = 0.0;
            }
            c[i * n + j] = v as f32;
        }
    }
    c
}

const SHAPES: [(usize, usize, usize); 6] = [
    (64, 64, 64),
    (32, 96, 128),
    (50, 99, 99),
    (37, 13, 70),
    (1, 10, 128),
    (100, 33, 5),
];

#[test]
fn gpu_adapter_is_found_and_limits_are_enough() {
    let g = gpu();
    assert!(g.ctx.limits.max_storage_buffer_binding_size >= 128 << 20);
    assert!(g.ctx.lost().is_none());
}

#[test]
fn gpu_matmul_linear_matches_cpu_linear() {
    let mut g = gpu();
    for (s, &(m, n, k)) in SHAPES.iter().enumerate() {
        let (a, w, bias) = (
            rand(s as u64, m * k),
            rand(100 + s as u64, n * k),
            rand(200 + s as u64, n),
        );
        let mut want = vec![0.0f32; m * n];
        cpu::gemm::linear(&a, m, &w, n, k, Some(&bias), &mut want);
        let (ba, bw, bb, bc) = (g.upload(&a), g.upload(&w), g.upload(&bias), g.alloc(m * n));
        let got = g
            .run_blocking(
                |rec| {
                    linear(rec, &ba, &bw, Some(&bb), &bc, [m, n, k]);
                    Ok(())
                },
                &[(&bc, m * n)],
            )
            .unwrap();
        assert_close(&format!("linear {m}x{n}x{k}"), &got[0], &want, TOL);
    }
}

#[test]
fn gpu_matmul_epilogues_match_reference() {
    let mut g = gpu();
    for (s, &(m, n, k)) in SHAPES.iter().enumerate() {
        for trans_b in [true, false] {
            // (bias, extra, relu, alpha, shift): none, bias, bias+residual, ISTA, r = y - y D^T.
            let cases: [(bool, bool, bool, f32, f32); 5] = [
                (false, false, false, 1.0, 0.0),
                (true, false, false, 1.0, 0.0),
                (true, true, false, 1.0, 0.0),
                (false, true, true, 0.1, 0.01),
                (false, true, false, -1.0, 0.0),
            ];
            for (ci, &(hb, he, relu, alpha, shift)) in cases.iter().enumerate() {
                let seed = (s * 10 + ci) as u64;
                let a = rand(seed, m * k);
                let b = rand(seed + 1000, n * k);
                let bias = rand(seed + 2000, n);
                let extra = rand(seed + 3000, m * n);
                let want = reference(
                    &a,
                    &b,
                    m,
                    n,
                    k,
                    trans_b,
                    alpha,
                    hb.then_some(&bias[..]),
                    he.then_some(&extra[..]),
                    shift,
                    relu,
                );
                let (ba, bb, bbias, be, bc) = (
                    g.upload(&a),
                    g.upload(&b),
                    g.upload(&bias),
                    g.upload(&extra),
                    g.alloc(m * n),
                );
                let got = g
                    .run_blocking(
                        |rec| {
                            Matmul {
                                a: &ba,
                                b: &bb,
                                c: &bc,
                                bias: hb.then_some(&bbias),
                                extra: he.then_some(&be),
                                trans_b,
                                relu,
                                batch: 1,
                                params: MatmulParams {
                                    alpha,
                                    shift,
                                    ..MatmulParams::dense(m, n, k, trans_b)
                                },
                            }
                            .record(rec);
                            Ok(())
                        },
                        &[(&bc, m * n)],
                    )
                    .unwrap();
                assert_close(
                    &format!("matmul {m}x{n}x{k} trans_b={trans_b} case {ci}"),
                    &got[0],
                    &want,
                    TOL,
                );
                g.pool.release([ba, bb, bbias, be, bc]);
            }
        }
    }
}

/// Per-(image, head) score products w_k w_k^T through the two-level batch strides.
#[test]
fn gpu_matmul_batched_per_head_scores() {
    let mut g = gpu();
    for (b, nt, d, heads) in [(1, 50, 99, 3), (2, 50, 99, 3), (3, 64, 128, 4)] {
        let dh = d / heads;
        let w = rand(5, b * nt * d);
        let (bw, bc) = (g.upload(&w), g.alloc(b * heads * nt * nt));
        let got = g
            .run_blocking(
                |rec| {
                    Matmul {
                        a: &bw,
                        b: &bw,
                        c: &bc,
                        bias: None,
                        extra: None,
                        trans_b: true,
                        relu: false,
                        batch: (b * heads) as u32,
                        params: MatmulParams {
                            m: nt as u32,
                            n: nt as u32,
                            k: dh as u32,
                            batch_inner: heads as u32,
                            lda: d as u32,
                            ldb: d as u32,
                            ldc: nt as u32,
                            a_so: (nt * d) as u32,
                            a_si: dh as u32,
                            b_so: (nt * d) as u32,
                            b_si: dh as u32,
                            c_so: (heads * nt * nt) as u32,
                            c_si: (nt * nt) as u32,
                            alpha: 1.0,
                            ..Default::default()
                        },
                    }
                    .record(rec);
                    Ok(())
                },
                &[(&bc, b * heads * nt * nt)],
            )
            .unwrap();
        let mut want = vec![0.0f32; b * heads * nt * nt];
        for bi in 0..b {
            for k in 0..heads {
                for i in 0..nt {
                    for j in 0..nt {
                        let mut s = 0.0f64;
                        for c in 0..dh {
                            s += w[(bi * nt + i) * d + k * dh + c] as f64
                                * w[(bi * nt + j) * d + k * dh + c] as f64;
                        }
                        want[((bi * heads + k) * nt + i) * nt + j] = s as f32;
                    }
                }
            }
        }
        assert_close(&format!("scores b={b} d={d}"), &got[0], &want, TOL);
    }
}

#[test]
fn gpu_layernorm_matches_cpu() {
    let mut g = gpu();
    for (rows, dim) in [(64, 128), (50, 99), (3, 7), (2, 1000)] {
        let x: Vec<f32> = rand(1, rows * dim).iter().map(|v| 3.0 + 2.0 * v).collect();
        let gamma: Vec<f32> = rand(2, dim).iter().map(|v| 1.0 + 0.2 * v).collect();
        let beta = rand(3, dim);
        let mut want = vec![0.0f32; rows * dim];
        cpu::layernorm::layer_norm(&x, dim, &gamma, &beta, &mut want);
        let (bx, bg, bb, by) = (
            g.upload(&x),
            g.upload(&gamma),
            g.upload(&beta),
            g.alloc(rows * dim),
        );
        let got = g
            .run_blocking(
                |rec| {
                    layernorm::layer_norm(
                        rec,
                        &bx,
                        &bg,
                        &bb,
                        &by,
                        layernorm::LnParams::rows(rows, dim),
                    );
                    Ok(())
                },
                &[(&by, rows * dim)],
            )
            .unwrap();
        assert_close(&format!("layernorm {rows}x{dim}"), &got[0], &want, TOL);
    }
}

/// The head's use: only the CLS row of each image (row stride N*d).
#[test]
fn gpu_layernorm_strided_cls_rows() {
    let mut g = gpu();
    let (b, nt, d) = (3, 50, 99);
    let x = rand(9, b * nt * d);
    let gamma: Vec<f32> = rand(10, d).iter().map(|v| 1.0 + 0.2 * v).collect();
    let beta = rand(11, d);
    let cls: Vec<f32> = (0..b)
        .flat_map(|bi| x[bi * nt * d..][..d].to_vec())
        .collect();
    let mut want = vec![0.0f32; b * d];
    cpu::layernorm::layer_norm(&cls, d, &gamma, &beta, &mut want);
    let (bx, bg, bb, by) = (
        g.upload(&x),
        g.upload(&gamma),
        g.upload(&beta),
        g.alloc(b * d),
    );
    let got = g
        .run_blocking(
            |rec| {
                layernorm::layer_norm(
                    rec,
                    &bx,
                    &bg,
                    &bb,
                    &by,
                    layernorm::LnParams {
                        in_stride: (nt * d) as u32,
                        ..layernorm::LnParams::rows(b, d)
                    },
                );
                Ok(())
            },
            &[(&by, b * d)],
        )
        .unwrap();
    assert_close("cls layernorm", &got[0], &want, TOL);
}

/// Both kernel families: the tiled one (one query row per workgroup past 736 tokens, four
/// below) and the CPU-adapter one (two matmuls around a row softmax).
#[test]
fn gpu_mssa_matches_cpu_with_and_without_probabilities() {
    let mut g = gpu();
    for (reg, b, nt, d, heads) in [
        (false, 1, 50, 99, 3),
        (false, 2, 50, 99, 3),
        (false, 2, 65, 128, 4),
        (false, 1, 197, 384, 6),
        (false, 1, 801, 64, 2),
        (true, 1, 50, 99, 3),
        (true, 2, 50, 99, 3),
        (true, 2, 65, 128, 4),
        (true, 1, 197, 384, 6),
    ] {
        g.reg_kernels = reg;
        let w: Vec<f32> = rand(4, b * nt * d).iter().map(|v| 2.0 * v).collect();
        let mut probs = vec![0.0f32; b * heads * nt * nt];
        let want = cpu::mssa::attention(&w, b, nt, d, heads, &mut probs);
        let (bw, bo, bp, bo2) = (
            g.upload(&w),
            g.alloc(b * nt * d),
            g.alloc(b * heads * nt * nt),
            g.alloc(b * nt * d),
        );
        let got = g
            .run_blocking(
                |rec| {
                    let dims = Dims { b, nt, d, heads };
                    mssa::attention(rec, &bw, &bo, Some(&bp), dims)?;
                    mssa::attention(rec, &bw, &bo2, None, dims)
                },
                &[
                    (&bo, b * nt * d),
                    (&bp, b * heads * nt * nt),
                    (&bo2, b * nt * d),
                ],
            )
            .unwrap();
        let tag = format!("mssa b={b} N={nt} d={d} K={heads} reg={reg}");
        assert_close(&format!("{tag} o"), &got[0], &want, TOL);
        assert_close(&format!("{tag} probs"), &got[1], &probs, TOL);
        assert_close(&format!("{tag} o (fused)"), &got[2], &want, TOL);
    }
}

/// Any token count runs (past the tiled kernel's limit on the matmul-based path,
/// `gpu_forward.rs`); a head dimension past the kernels' limit is refused.
#[test]
fn gpu_mssa_rejects_too_large_a_head() {
    let mut g = gpu();
    let (bw, bo) = (g.alloc(4), g.alloc(4));
    let mut rec = g.recorder();
    let dims = Dims {
        b: 1,
        nt: 5000,
        d: 512,
        heads: 1,
    };
    let err = mssa::attention(&mut rec, &bw, &bo, None, dims).unwrap_err();
    assert!(err.to_string().contains("at most"), "{err}");
}

#[test]
fn gpu_patchify_and_assemble_match_cpu() {
    let mut g = gpu();
    for (b, c, h, w, p, d) in [
        (1, 1, 28, 28, 4, 128),
        (2, 3, 12, 20, 4, 99),
        (3, 3, 32, 32, 16, 7),
    ] {
        let x = rand(7, b * c * h * w);
        let want = cpu::embed::patchify(&x, b, c, h, w, p);
        let n = (h / p) * (w / p);
        let e = rand(8, b * n * d);
        let cls = rand(9, d);
        let pos = rand(10, (n + 1) * d);
        let mut z = vec![0.0f32; b * (n + 1) * d];
        for bi in 0..b {
            for t in 0..=n {
                for ci in 0..d {
                    let v = if t == 0 {
                        cls[ci]
                    } else {
                        e[(bi * n + t - 1) * d + ci]
                    };
                    z[(bi * (n + 1) + t) * d + ci] = v + pos[t * d + ci];
                }
            }
        }
        let (bx, bpatch, be, bcls, bpos, bz) = (
            g.upload(&x),
            g.alloc(want.len()),
            g.upload(&e),
            g.upload(&cls),
            g.upload(&pos),
            g.alloc(z.len()),
        );
        let got = g
            .run_blocking(
                |rec| {
                    embed::patchify(rec, &bx, &bpatch, [b, c, h, w], p);
                    let dims = Dims {
                        b,
                        nt: n + 1,
                        d,
                        heads: 1,
                    };
                    embed::assemble(rec, &be, &bcls, &bpos, &bz, dims);
                    Ok(())
                },
                &[(&bpatch, want.len()), (&bz, z.len())],
            )
            .unwrap();
        assert_eq!(got[0], want, "patchify {b}x{c}x{h}x{w} p={p}");
        assert_eq!(got[1], z, "assemble");
    }
}

/// The ISTA step in both GPU forms against their CPU twins: training's two matmuls
/// (`gpu::layer::record_ista_step` vs `cpu::ista::ista_unfused`) and inference's operator
/// `D - D^T D` made on the device and applied in one matmul (`record_ista_operator` +
/// `record_ista_fused` vs `cpu::ista::operator` + `cpu::ista::ista`).
#[test]
fn gpu_ista_steps_match_cpu() {
    let mut g = gpu();
    for (rows, d) in [(50, 99), (64, 128), (150, 99)] {
        let y = rand(12, rows * d);
        let dict: Vec<f32> = rand(13, d * d)
            .iter()
            .map(|v| v / (d as f32).sqrt())
            .collect();
        let dt = whitebox::tensor::transpose(&dict, d, d);
        let (eta, lambda) = (0.1f32, 0.1f32);
        let want = cpu::ista::ista_unfused(&y, rows, d, &dict, eta, lambda);
        let op = cpu::ista::operator(&dict, d);
        let want_fused = cpu::ista::ista(&y, rows, d, &op, eta, lambda);
        let (by, bd, bdt, br, bz, bop, bz2) = (
            g.upload(&y),
            g.upload(&dict),
            g.upload(&dt),
            g.alloc(rows * d),
            g.alloc(rows * d),
            g.alloc(d * d),
            g.alloc(rows * d),
        );
        let got = g
            .run_blocking(
                |rec| {
                    layer::record_ista_step(rec, &bd, [&by, &br, &bz], [rows, d], [eta, lambda]);
                    layer::record_ista_operator(rec, [&bd, &bdt, &bop], d);
                    layer::record_ista_fused(rec, &bop, [&by, &bz2], [rows, d], [eta, lambda]);
                    Ok(())
                },
                &[(&bz, rows * d), (&bop, d * d), (&bz2, rows * d)],
            )
            .unwrap();
        assert_close(&format!("ista {rows}x{d}"), &got[0], &want, TOL);
        assert_close(&format!("ista operator {d}x{d}"), &got[1], &op, TOL);
        assert_close(&format!("fused ista {rows}x{d}"), &got[2], &want_fused, TOL);
        for (name, got, want) in [
            ("two matmuls", &got[0], &want),
            ("fused", &got[2], &want_fused),
        ] {
            let zeros = got.iter().filter(|v| **v == 0.0).count();
            let want_zeros = want.iter().filter(|v| **v == 0.0).count();
            assert!(
                zeros.abs_diff(want_zeros) <= rows * d / 1000 + 1,
                "{name}: zeros {zeros} vs {want_zeros}"
            );
        }
    }
}

/// wgpu's default is to panic on a validation error; the context turns it into an error.
#[test]
fn gpu_validation_error_is_an_error_not_a_panic() {
    let mut g = gpu();
    let not_storage = g
        .pool
        .acquire(&g.ctx.device.clone(), 64, whitebox::gpu::READBACK);
    let (gm, y) = (g.upload(&[1.0; 4]), g.alloc(16));
    let err = g
        .run_blocking(
            |rec| {
                layernorm::layer_norm(
                    rec,
                    &not_storage,
                    &gm,
                    &gm,
                    &y,
                    layernorm::LnParams::rows(4, 4),
                );
                Ok(())
            },
            &[(&y, 16)],
        )
        .unwrap_err();
    assert!(err.to_string().starts_with("GPU"), "{err}");
    // The context stays usable.
    let x = g.upload(&[1.0, 2.0, 3.0, 4.0]);
    let out = g
        .run_blocking(
            |rec| {
                layernorm::layer_norm(rec, &x, &gm, &gm, &y, layernorm::LnParams::rows(1, 4));
                Ok(())
            },
            &[(&y, 4)],
        )
        .unwrap();
    assert!((out[0][0] + 0.3416).abs() < 1e-3, "{:?}", out[0]);
}

/// Rows padded to a multiple of 4 with k not one (the k % 4 tail of the register-blocked
/// kernels), and A's rows unpadded (read as scalars, `A_ROWS4` false), n = 4 mod 8 (their
/// clamped high columns), on the tiled kernel and every register-blocked one (8×8, 16×8 and
/// 32×8, the last two also with subgroups where the adapter has them: on lavapipe it must, so
/// that CI covers it); each subgroup form equals its plain block, and the blocks one another,
/// bit for bit.
#[test]
fn gpu_matmul_padded_rows_odd_k_both_variants() {
    let mut g = gpu();
    let sg = Gpu::subgroup_kernels(&g.ctx);
    let name = g.ctx.info.name.to_lowercase();
    if name.contains("llvmpipe") || name.contains("lavapipe") {
        assert_eq!(
            sg,
            Some(8),
            "lavapipe without subgroups of 8: {:?}",
            g.ctx.info
        );
    }
    // The plain register blocks' results by block height, for their subgroup forms.
    let mut plain = std::collections::HashMap::new();
    for (reg, rows, sub) in [
        (false, 16, None),
        (true, 8, None),
        (true, 16, None),
        (true, 16, sg),
        (true, 32, None),
        (true, 32, sg),
    ] {
        g.reg_kernels = reg;
        g.reg_block = Some(rows);
        g.subgroups = sub;
        let mut outs = Vec::new();
        for &(m, n, k) in &[
            (37usize, 20usize, 13usize),
            (5, 12, 30),
            (64, 68, 7),
            (70, 136, 36),
        ] {
            // A's rows padded to vec4 boundaries, or not (then, k % 4 != 0, A is read as
            // scalars: `A_ROWS4`); B's always padded.
            for (trans_b, pad_a) in [(true, true), (false, true), (true, false), (false, false)] {
                let ldp = k.next_multiple_of(4);
                let lda = if pad_a { ldp } else { k };
                let a = rand(1, m * k);
                let b = rand(2, n * k);
                let want = reference(&a, &b, m, n, k, trans_b, 1.0, None, None, 0.0, false);
                let mut ap = vec![0.0f32; m * lda];
                for i in 0..m {
                    ap[i * lda..i * lda + k].copy_from_slice(&a[i * k..(i + 1) * k]);
                }
                // B^T (n, k) rows padded; plain B (k, n) is already aligned (n % 4 == 0).
                let (bp, ldb) = if trans_b {
                    let mut bp = vec![0.0f32; n * ldp];
                    for j in 0..n {
                        bp[j * ldp..j * ldp + k].copy_from_slice(&b[j * k..(j + 1) * k]);
                    }
                    (bp, ldp)
                } else {
                    (b.clone(), n)
                };
                let (ba, bb, bc) = (g.upload(&ap), g.upload(&bp), g.alloc(m * n));
                let got = g
                    .run_blocking(
                        |rec| {
                            Matmul {
                                a: &ba,
                                b: &bb,
                                c: &bc,
                                bias: None,
                                extra: None,
                                trans_b,
                                relu: false,
                                batch: 1,
                                params: MatmulParams {
                                    lda: lda as u32,
                                    ldb: ldb as u32,
                                    ..MatmulParams::dense(m, n, k, trans_b)
                                },
                            }
                            .record(rec);
                            Ok(())
                        },
                        &[(&bc, m * n)],
                    )
                    .unwrap();
                assert_close(
                    &format!(
                        "matmul {m}x{n}x{k} lda {lda} trans_b={trans_b} reg={reg} rows={rows} \
                         subgroups={sub:?}"
                    ),
                    &got[0],
                    &want,
                    TOL,
                );
                outs.push(got.into_iter().next().unwrap());
                g.pool.release([ba, bb, bc]);
            }
        }
        match (reg, sub) {
            (true, None) => {
                plain.insert(rows, outs);
            }
            (true, Some(_)) => assert!(
                plain[&rows] == outs,
                "the subgroup form of the {rows}-row block differs from the plain one"
            ),
            _ => {}
        }
    }
    // One template: every block height sums each output in the same order.
    assert!(
        plain[&8] == plain[&16] && plain[&16] == plain[&32],
        "the 8-, 16- and 32-row blocks differ"
    );
}
