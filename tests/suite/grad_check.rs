//! Gradient checks of the CPU reference backward (`whitebox::grad`): central finite differences
//! in f64 for every op and for the whole model over every parameter, and the f32 training
//! forward against `CpuEngine`. Run with `--nocapture` to see the measured errors.

use whitebox::cpu::CpuEngine;
use whitebox::grad::{self, embed, head, ista, layernorm, linear, loss, mssa, ParamSet};
use whitebox::model::init::init_params;
use whitebox::{CrateConfig, Engine, ForwardOptions, Model, Tensor};

/// Central-difference step. With h = 1e-6 the round-off of the loss (~1e-16 / h) reaches 2e-6
/// relative on gradient entries near 1e-4; 1e-5 balances it against the O(h^2) truncation.
const H: f64 = 1e-5;
const TOL: f64 = 1e-6;

fn rnd(seed: u64, name: &str, n: usize, bound: f64) -> Vec<f64> {
    whitebox::rng::uniform(seed, name, n, 1.0)
        .into_iter()
        .map(|v| v as f64 * bound)
        .collect()
}

/// Relative error of an analytic gradient `a` against the central difference `n`:
/// `|a - n| / max(|a|, |n|, 1e-4)` (the floor keeps round-off on near-zero entries from
/// counting as relative error).
fn rel(a: f64, n: f64) -> f64 {
    (a - n).abs() / a.abs().max(n.abs()).max(1e-4)
}

/// Up to `max` coordinates of a tensor of `n` entries, spread evenly and including both ends.
fn coords(n: usize, max: usize) -> Vec<usize> {
    if n <= max {
        (0..n).collect()
    } else {
        (0..max).map(|i| i * (n - 1) / (max - 1)).collect()
    }
}

/// Checks `grads[t]` against central differences of `f` in every input `t`; returns the worst
/// relative error per input.
fn fd_check(
    what: &str,
    names: &[&str],
    inputs: &[Vec<f64>],
    grads: &[Vec<f64>],
    max: usize,
    f: impl Fn(&[Vec<f64>]) -> f64,
) -> f64 {
    let mut worst = 0.0f64;
    for (t, name) in names.iter().enumerate() {
        let mut x = inputs.to_vec();
        let mut e = 0.0f64;
        for i in coords(x[t].len(), max) {
            let v = x[t][i];
            x[t][i] = v + H;
            let lp = f(&x);
            x[t][i] = v - H;
            let lm = f(&x);
            x[t][i] = v;
            let n = (lp - lm) / (2.0 * H);
            e = e.max(rel(grads[t][i], n));
        }
        println!("{what:>8} {name:<40} max rel err {e:.2e}");
        worst = worst.max(e);
    }
    assert!(worst < TOL, "{what}: worst relative error {worst:.2e}");
    worst
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

#[test]
fn layernorm_gradients() {
    let (rows, dim) = (5, 7);
    let mut x = rnd(1, "x", rows * dim, 2.0);
    for (i, v) in x.iter_mut().enumerate() {
        *v += (i / dim) as f64; // rows with different means
    }
    let inputs = vec![
        x,
        rnd(1, "g", dim, 1.0).iter().map(|v| 1.0 + v).collect(),
        rnd(1, "b", dim, 1.0),
    ];
    let r = rnd(1, "r", rows * dim, 1.0);
    let f = |v: &[Vec<f64>]| {
        let mut out = vec![0.0; rows * dim];
        layernorm::forward(&v[0], dim, &v[1], &v[2], &mut out);
        dot(&out, &r)
    };
    let mut out = vec![0.0; rows * dim];
    let c = layernorm::forward(&inputs[0], dim, &inputs[1], &inputs[2], &mut out);
    let (mut dx, mut dg, mut db) = (vec![0.0; rows * dim], vec![0.0; dim], vec![0.0; dim]);
    layernorm::backward(&c, dim, &inputs[1], &r, Some(&mut dx), &mut dg, &mut db);
    fd_check(
        "ln",
        &["x", "gamma", "beta"],
        &inputs,
        &[dx, dg, db],
        100,
        f,
    );
}

#[test]
fn linear_gradients() {
    let (rows, out, inp) = (4, 5, 6);
    let inputs = vec![
        rnd(2, "x", rows * inp, 1.0),
        rnd(2, "w", out * inp, 1.0),
        rnd(2, "b", out, 1.0),
    ];
    let r = rnd(2, "r", rows * out, 1.0);
    let f = |v: &[Vec<f64>]| {
        dot(
            &linear::forward(&v[0], rows, &v[1], out, inp, Some(&v[2])),
            &r,
        )
    };
    let (mut dx, mut dw, mut db) = (vec![0.0; rows * inp], vec![0.0; out * inp], vec![0.0; out]);
    linear::backward(
        &inputs[0],
        rows,
        &inputs[1],
        out,
        inp,
        &r,
        Some(&mut dx),
        &mut dw,
        Some(&mut db),
    );
    fd_check("linear", &["x", "W", "b"], &inputs, &[dx, dw, db], 100, f);
}

#[test]
fn loss_gradients_and_value() {
    let (b, c) = (3, 5);
    let labels = [4usize, 0, 2];
    let logits = rnd(3, "z", b * c, 3.0);
    for s in [0.0, 0.1] {
        let (l, g) = loss::cross_entropy(&logits, c, &labels, s);
        // direct formula
        let mut want = 0.0;
        for (row, &y) in logits.chunks(c).zip(&labels) {
            let lse = row.iter().map(|v| v.exp()).sum::<f64>().ln();
            for (k, v) in row.iter().enumerate() {
                let t = if k == y {
                    1.0 - s + s / c as f64
                } else {
                    s / c as f64
                };
                want += t * (lse - v);
            }
        }
        assert!((l - want / b as f64).abs() < 1e-12);
        let f = |v: &[Vec<f64>]| loss::cross_entropy(&v[0], c, &labels, s).0;
        fd_check(
            "loss",
            &["logits"],
            std::slice::from_ref(&logits),
            &[g],
            100,
            f,
        );
    }
}

fn mssa_p(v: &[Vec<f64>]) -> mssa::MssaParams<'_, f64> {
    mssa::MssaParams {
        norm_w: &v[1],
        norm_b: &v[2],
        qkv: &v[3],
        out_w: &v[4],
        out_b: &v[5],
    }
}

#[test]
fn mssa_block_gradients() {
    let (b, nt, d, heads) = (2, 5, 6, 2);
    let inputs = vec![
        rnd(4, "z", b * nt * d, 2.0),
        rnd(4, "nw", d, 0.5).iter().map(|v| 1.0 + v).collect(),
        rnd(4, "nb", d, 0.5),
        rnd(4, "u", d * d, 1.0),
        rnd(4, "wo", d * d, 1.0),
        rnd(4, "bo", d, 1.0),
    ];
    let r = rnd(4, "r", b * nt * d, 1.0);
    let f = |v: &[Vec<f64>]| dot(&mssa::forward(&v[0], b, nt, d, heads, mssa_p(v)).0, &r);
    let (_, c) = mssa::forward(&inputs[0], b, nt, d, heads, mssa_p(&inputs));
    let mut g: Vec<Vec<f64>> = inputs.iter().map(|v| vec![0.0; v.len()]).collect();
    let [_, g1, g2, g3, g4, g5] = &mut g[..] else {
        unreachable!()
    };
    let mg = mssa::MssaGrads {
        norm_w: g1,
        norm_b: g2,
        qkv: g3,
        out_w: g4,
        out_b: g5,
    };
    g[0] = mssa::backward(&c, mssa_p(&inputs), &r, mg);
    let names = [
        "Z",
        "norm.weight",
        "norm.bias",
        "qkv.weight",
        "to_out.weight",
        "to_out.bias",
    ];
    fd_check("mssa", &names, &inputs, &g, 100, f);
}

fn ip(v: &[Vec<f64>]) -> ista::IstaParams<'_, f64> {
    ista::IstaParams {
        norm_w: &v[1],
        norm_b: &v[2],
        dict: &v[3],
        eta: 0.1,
        lambda: 0.1,
    }
}

#[test]
fn ista_block_gradients() {
    let (rows, d) = (10, 6);
    let inputs = vec![
        rnd(5, "z", rows * d, 2.0),
        rnd(5, "nw", d, 0.5).iter().map(|v| 1.0 + v).collect(),
        rnd(5, "nb", d, 0.5),
        rnd(5, "D", d * d, 1.0),
    ];
    let r = rnd(5, "r", rows * d, 1.0);
    let f = |v: &[Vec<f64>]| dot(&ista::forward(&v[0], rows, d, ip(v)).0, &r);
    let (out, c) = ista::forward(&inputs[0], rows, d, ip(&inputs));
    let zeros = out.iter().filter(|&&v| v == 0.0).count();
    assert!(
        zeros > 0 && zeros < out.len(),
        "the check should cover both sides of the ReLU"
    );
    let mut g: Vec<Vec<f64>> = inputs.iter().map(|v| vec![0.0; v.len()]).collect();
    let [_, g1, g2, g3] = &mut g[..] else {
        unreachable!()
    };
    let ig = ista::IstaGrads {
        norm_w: g1,
        norm_b: g2,
        dict: g3,
    };
    g[0] = ista::backward(&c, ip(&inputs), &r, ig);
    fd_check(
        "ista",
        &["Z_half", "norm.weight", "norm.bias", "fn.weight (D)"],
        &inputs,
        &g,
        100,
        f,
    );
}

fn ep(v: &[Vec<f64>]) -> embed::EmbedParams<'_, f64> {
    embed::EmbedParams {
        ln1_w: &v[0],
        ln1_b: &v[1],
        w: &v[2],
        b: &v[3],
        ln2_w: &v[4],
        ln2_b: &v[5],
        cls: &v[6],
        pos: &v[7],
    }
}

#[test]
fn embedding_gradients() {
    let s = embed::EmbedShape {
        b: 2,
        c: 2,
        h: 4,
        w: 6,
        p: 2,
        d: 5,
    };
    let (pl, d, nt) = (s.patch_len(), s.d, s.patches() + 1);
    let x = rnd(6, "x", s.b * s.c * s.h * s.w, 2.0);
    let inputs = vec![
        rnd(6, "g1", pl, 0.5).iter().map(|v| 1.0 + v).collect(),
        rnd(6, "b1", pl, 0.5),
        rnd(6, "w", d * pl, 1.0),
        rnd(6, "b", d, 1.0),
        rnd(6, "g2", d, 0.5).iter().map(|v| 1.0 + v).collect(),
        rnd(6, "b2", d, 0.5),
        rnd(6, "cls", d, 1.0),
        rnd(6, "pos", nt * d, 1.0),
    ];
    let r = rnd(6, "r", s.b * nt * d, 1.0);
    let f = |v: &[Vec<f64>]| dot(&embed::forward(&x, s, ep(v)).0, &r);
    let (_, c) = embed::forward(&x, s, ep(&inputs));
    let mut g: Vec<Vec<f64>> = inputs.iter().map(|v| vec![0.0; v.len()]).collect();
    let [g0, g1, g2, g3, g4, g5, g6, g7] = &mut g[..] else {
        unreachable!()
    };
    let eg = embed::EmbedGrads {
        ln1_w: g0,
        ln1_b: g1,
        w: g2,
        b: g3,
        ln2_w: g4,
        ln2_b: g5,
        cls: g6,
        pos: g7,
    };
    embed::backward(&c, ep(&inputs), &r, eg);
    let names = [
        "LN_P.weight",
        "LN_P.bias",
        "linear.weight",
        "linear.bias",
        "LN_d.weight",
        "LN_d.bias",
        "cls_token",
        "pos_embedding",
    ];
    fd_check("embed", &names, &inputs, &g, 100, f);
}

fn hparams(
    v: &[Vec<f64>],
    extra: Option<usize>,
    out1: usize,
    classes: usize,
) -> head::HeadParams<'_, f64> {
    head::HeadParams {
        ln_w: &v[1],
        ln_b: &v[2],
        w1: &v[3],
        b1: &v[4],
        w2: extra.map(|_| (v[5].as_slice(), v[6].as_slice())),
        out1,
        classes,
    }
}

#[test]
fn head_gradients() {
    let (b, nt, d, classes) = (2, 3, 6, 4);
    for extra in [None, Some(5usize)] {
        let out1 = extra.unwrap_or(classes);
        let mut inputs = vec![
            rnd(7, "z", b * nt * d, 2.0),
            rnd(7, "g", d, 0.5).iter().map(|v| 1.0 + v).collect(),
            rnd(7, "bb", d, 0.5),
            rnd(7, "w1", out1 * d, 1.0),
            rnd(7, "b1", out1, 1.0),
        ];
        if let Some(m) = extra {
            inputs.push(rnd(7, "w2", classes * m, 1.0));
            inputs.push(rnd(7, "b2", classes, 1.0));
        }

        let r = rnd(7, "r", b * classes, 1.0);
        let f = |v: &[Vec<f64>]| {
            dot(
                &head::forward(&v[0], b, nt, d, hparams(v, extra, out1, classes)).0,
                &r,
            )
        };
        let (_, c) = head::forward(&inputs[0], b, nt, d, hparams(&inputs, extra, out1, classes));
        let mut g: Vec<Vec<f64>> = inputs.iter().map(|v| vec![0.0; v.len()]).collect();
        let dz = {
            let (first, rest) = g.split_at_mut(5);
            let [_, g1, g2, g3, g4] = first else {
                unreachable!()
            };
            let w2 = match rest {
                [a, bb] => Some((a.as_mut_slice(), bb.as_mut_slice())),
                _ => None,
            };
            let hg = head::HeadGrads {
                ln_w: g1,
                ln_b: g2,
                w1: g3,
                b1: g4,
                w2,
            };
            head::backward(&c, hparams(&inputs, extra, out1, classes), &r, hg)
        };
        g[0] = dz;
        let names = [
            "Z",
            "mlp_head.0.weight",
            "mlp_head.0.bias",
            "mlp_head.1.weight",
            "mlp_head.1.bias",
            "head.weight",
            "head.bias",
        ];
        fd_check("head", &names[..inputs.len()], &inputs, &g, 100, f);
    }
}

fn tiny(channels: usize, image: [usize; 2], pre_head_dim: Option<usize>) -> CrateConfig {
    CrateConfig {
        dim: 12,
        depth: 2,
        heads: 3,
        patch: 2,
        image,
        channels,
        classes: 5,
        eta: 0.1,
        lambda: 0.1,
        mean: vec![0.0; channels],
        std: vec![1.0; channels],
        class_names: None,
        pre_head_dim,
    }
}

/// Initialised parameters with every LayerNorm and embedding perturbed away from its default,
/// so that no gradient is special-cased by gamma = 1, beta = 0.
fn perturbed(cfg: &CrateConfig, seed: u64) -> ParamSet<f64> {
    let mut p = ParamSet::<f64>::from_params(&init_params(cfg, seed).unwrap());
    for (k, a) in p.tensors.iter_mut() {
        let noise = rnd(seed, &format!("perturb {k}"), a.data.len(), 0.3);
        for (v, n) in a.data.iter_mut().zip(noise) {
            *v += n;
        }
    }
    p
}

fn whole_model_check(cfg: &CrateConfig, b: usize, smoothing: f64) {
    let p = perturbed(cfg, 11);
    let [h, w] = cfg.image;
    let x = rnd(12, "images", b * cfg.channels * h * w, 2.0);
    let labels: Vec<usize> = (0..b).map(|i| (3 * i + 1) % cfg.classes).collect();
    let step = grad::loss_and_grads(cfg, &p, &x, &labels, smoothing).unwrap();
    assert_eq!(step.grads.tensors.len(), p.tensors.len());
    let names: Vec<&str> = p.tensors.keys().map(String::as_str).collect();
    let inputs: Vec<Vec<f64>> = p.tensors.values().map(|a| a.data.clone()).collect();
    let grads: Vec<Vec<f64>> = step
        .grads
        .tensors
        .values()
        .map(|a| a.data.clone())
        .collect();
    for (n, g) in names.iter().zip(&grads) {
        assert!(g.iter().any(|&v| v != 0.0), "gradient of {n} is all zero");
    }
    let f = |v: &[Vec<f64>]| {
        let mut q = p.clone();
        for (a, d) in q.tensors.values_mut().zip(v) {
            a.data.clone_from(d);
        }
        grad::loss_and_grads(cfg, &q, &x, &labels, smoothing)
            .unwrap()
            .loss
    };
    let worst = fd_check("model", &names, &inputs, &grads, 48, f);
    println!("whole model {cfg:?}: worst {worst:.2e}");
}

#[test]
fn whole_model_gradients() {
    whole_model_check(&tiny(2, [4, 6], None), 2, 0.1);
}

#[test]
fn whole_model_gradients_with_extra_head() {
    whole_model_check(&tiny(1, [4, 4], Some(7)), 2, 0.0);
}

#[test]
fn f32_forward_matches_cpu_engine() {
    for (cfg, b) in [
        (tiny(2, [4, 6], None), 3),
        (tiny(1, [4, 4], Some(7)), 2),
        (CrateConfig::preset("crate-fmnist").unwrap(), 3),
    ] {
        let params = init_params(&cfg, 5).unwrap();
        let [h, w] = cfg.image;
        let x = whitebox::rng::uniform(9, "x", b * cfg.channels * h * w, 2.0);
        let model = Model::new(cfg.clone(), params.clone()).unwrap();
        let want = CpuEngine::new(model)
            .forward(
                &Tensor {
                    shape: vec![b, cfg.channels, h, w],
                    data: x.clone(),
                },
                ForwardOptions::default(),
            )
            .unwrap()
            .logits;
        let p = ParamSet::<f32>::from_params(&params);
        let (got, _) = grad::forward(&cfg, &p, &x, b).unwrap();
        let scale = want.data.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        let err = got
            .iter()
            .zip(&want.data)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max)
            / scale;
        println!(
            "f32 logits vs CpuEngine (dim {}): max rel err {err:.2e}",
            cfg.dim
        );
        assert!(err < 1e-5, "{err}");
    }
}

#[test]
fn f32_gradients_match_f64() {
    let cfg = CrateConfig::preset("crate-fmnist").unwrap();
    let params = init_params(&cfg, 3).unwrap();
    let b = 4;
    let x = whitebox::rng::uniform(4, "x", b * 28 * 28, 2.0);
    let labels = [1usize, 7, 3, 9];
    let s32 = grad::loss_and_grads(
        &cfg,
        &ParamSet::<f32>::from_params(&params),
        &x,
        &labels,
        0.1,
    )
    .unwrap();
    let x64: Vec<f64> = x.iter().map(|&v| v as f64).collect();
    let s64 = grad::loss_and_grads(
        &cfg,
        &ParamSet::<f64>::from_params(&params),
        &x64,
        &labels,
        0.1,
    )
    .unwrap();
    assert!((s32.loss as f64 - s64.loss).abs() < 1e-5 * s64.loss.abs());
    for ((k, a), b) in s32.grads.tensors.iter().zip(s64.grads.tensors.values()) {
        let scale = b.data.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        let err = a
            .data
            .iter()
            .zip(&b.data)
            .map(|(x, y)| (*x as f64 - y).abs())
            .fold(0.0, f64::max)
            / scale;
        assert!(err < 1e-3, "{k}: f32 vs f64 gradient error {err:.2e}");
    }
    // an f32 set converts to Params under the official keys
    s32.grads.to_params().validate(&cfg).unwrap();
}

#[test]
fn bad_inputs_are_refused() {
    let cfg = tiny(1, [4, 4], None);
    let p = ParamSet::<f64>::from_params(&init_params(&cfg, 1).unwrap());
    let x = vec![0.0; 2 * 16];
    assert!(grad::loss_and_grads(&cfg, &p, &x[..20], &[0, 1], 0.0).is_err());
    assert!(grad::loss_and_grads(&cfg, &p, &x, &[0, 5], 0.0).is_err());
    let mut q = p.clone();
    q.tensors.remove("cls_token");
    assert!(grad::loss_and_grads(&cfg, &q, &x, &[0, 1], 0.0).is_err());
}

/// Writes parameters, a batch and the f64 gradients of a few small models for
/// `tools/check_grads.py`, which compares them with PyTorch autograd on the official
/// architecture: `WHITEBOX_GRAD_DUMP=DIR cargo test --test grad_check dump -- --ignored`.
#[test]
#[ignore]
fn dump_gradients_for_torch() {
    use std::collections::BTreeMap;
    let Ok(dir) = std::env::var("WHITEBOX_GRAD_DUMP") else {
        panic!("set WHITEBOX_GRAD_DUMP to an output folder");
    };
    let cases = [
        ("tiny", tiny(2, [4, 6], None), 3, 0.1),
        ("tiny-extra-head", tiny(1, [4, 4], Some(7)), 2, 0.0),
        (
            "fmnist",
            CrateConfig::preset("crate-fmnist").unwrap(),
            4,
            0.1,
        ),
    ];
    for (name, cfg, b, smoothing) in cases {
        // f32-representable parameters and inputs, so that both sides start from the same values
        let p32 = perturbed(&cfg, 21).to_params();
        let p = ParamSet::<f64>::from_params(&p32);
        let [h, w] = cfg.image;
        let x32 = whitebox::rng::uniform(22, "images", b * cfg.channels * h * w, 2.0);
        let x: Vec<f64> = x32.iter().map(|&v| v as f64).collect();
        let labels: Vec<usize> = (0..b).map(|i| (7 * i + 2) % cfg.classes).collect();
        let step = grad::loss_and_grads(&cfg, &p, &x, &labels, smoothing).unwrap();
        let mut t = BTreeMap::new();
        for (k, v) in &p32.tensors {
            t.insert(format!("param/{k}"), v.clone());
        }
        // gradients as f32 hi + lo parts: the f64 value is hi + lo to ~1e-14
        for (k, a) in &step.grads.tensors {
            let hi: Vec<f32> = a.data.iter().map(|&v| v as f32).collect();
            let lo: Vec<f32> = a
                .data
                .iter()
                .zip(&hi)
                .map(|(&v, &h)| (v - h as f64) as f32)
                .collect();
            t.insert(
                format!("grad_hi/{k}"),
                Tensor {
                    shape: a.shape.clone(),
                    data: hi,
                },
            );
            t.insert(
                format!("grad_lo/{k}"),
                Tensor {
                    shape: a.shape.clone(),
                    data: lo,
                },
            );
        }
        t.insert(
            "images".into(),
            Tensor {
                shape: vec![b, cfg.channels, h, w],
                data: x32,
            },
        );
        t.insert(
            "labels".into(),
            Tensor {
                shape: vec![b],
                data: labels.iter().map(|&l| l as f32).collect(),
            },
        );
        let mut meta = BTreeMap::new();
        meta.insert("config".to_string(), serde_json::to_string(&cfg).unwrap());
        meta.insert("smoothing".to_string(), smoothing.to_string());
        meta.insert("loss".to_string(), format!("{:.17e}", step.loss));
        let bytes = whitebox::model::io::safetensors::write_tensors(&t, &meta).unwrap();
        std::fs::write(format!("{dir}/{name}.safetensors"), bytes).unwrap();
    }
}
