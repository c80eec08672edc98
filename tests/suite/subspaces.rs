//! The Subspaces view's numbers (`analysis::subspaces`) against the independent NumPy reference
//! `tools/subspaces_ref.py` (tests/fixtures/subspaces/small.json), from traces of the CPU engine
//! (1e-4 relative) and of the WebGPU engine (1e-3; needs an adapter, lavapipe in CI: fails,
//! never skips, without one). Discrete outputs (winners, zero counts, histogram bins, rank90)
//! may differ only by as many items as the fixture counts within the tolerance of a threshold.

use crate::common;

use common::*;
use serde_json::Value;
use whitebox::analysis::layer_stats;
use whitebox::analysis::subspaces::{
    batch_report, geometry::head_columns, layer_weights, next_projection, subspace_report, Dims,
    SubspaceOptions,
};
use whitebox::cpu::CpuEngine;
use whitebox::{Engine, ForwardOptions, Model, Tensor, Trace};

const TOL: f64 = 1e-4;
const GPU_TOL: f64 = 1e-3;

#[derive(Clone, Copy, PartialEq, Debug)]
enum Kind {
    Cpu,
    Gpu,
}

impl Kind {
    fn tol(self) -> f64 {
        match self {
            Kind::Cpu => TOL,
            Kind::Gpu => GPU_TOL,
        }
    }
    /// The fixture's margin counts for this engine's error (see tools/subspaces_ref.py): the CPU
    /// engine is within ~1e-5 of the f64 reference, the GPU engine within 1e-3.
    fn margin_key(self) -> &'static str {
        match self {
            Kind::Cpu => "1e-05",
            Kind::Gpu => "1e-03",
        }
    }
}

fn reference() -> Value {
    let path = fixture("subspaces/small.json");
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

fn model() -> Model {
    let (fx, meta) = read_fixture("golden/small.safetensors");
    fixture_model(&fx, &meta, 1)
}

fn input(fx: &Value) -> Tensor {
    let shape: Vec<usize> = serde_json::from_value(fx["input"]["shape"].clone()).unwrap();
    let data: Vec<f32> = serde_json::from_value(fx["input"]["data"].clone()).unwrap();
    // The fixture's input is the golden scheme's: regenerating it checks both sides agree.
    let seed = fx["input"]["seed"].as_u64().unwrap();
    assert_eq!(golden_input(seed, &shape).data, data);
    Tensor { shape, data }
}

fn trace(kind: Kind, model: &Model, x: &Tensor) -> Trace {
    let mut engine: Box<dyn Engine> = match kind {
        Kind::Cpu => Box::new(CpuEngine::new(model.clone())),
        Kind::Gpu => Box::new(
            whitebox::gpu::GpuEngine::new_blocking(model.clone())
                .expect("a GPU adapter (lavapipe in CI)"),
        ),
    };
    let opts = ForwardOptions {
        trace: true,
        ..Default::default()
    };
    engine.forward(x, opts).unwrap().trace.unwrap()
}

fn flat(v: &Value, out: &mut Vec<f64>) {
    match v {
        Value::Array(a) => a.iter().for_each(|x| flat(x, out)),
        Value::Number(n) => out.push(n.as_f64().unwrap()),
        other => panic!("not a number: {other}"),
    }
}

fn nums(v: &Value) -> Vec<f64> {
    let mut out = Vec::new();
    flat(v, &mut out);
    out
}

thread_local! {
    /// The largest relative error seen by [`close`] in this test thread, for the margin report.
    static WORST: std::cell::Cell<(f64, String)> = const { std::cell::Cell::new((0.0, String::new())) };
}

/// Max abs difference relative to the reference's largest magnitude.
#[track_caller]
fn close(name: &str, got: &Value, want: &Value, tol: f64) {
    let (g, w) = (nums(got), nums(want));
    assert_eq!(g.len(), w.len(), "{name}: length");
    assert!(!w.is_empty(), "{name}: empty");
    let scale = w.iter().fold(0.0f64, |m, v| m.max(v.abs())).max(1e-300);
    let err = g
        .iter()
        .zip(&w)
        .fold(0.0f64, |m, (a, b)| m.max((a - b).abs()))
        / scale;
    assert!(err <= tol, "{name}: relative error {err:.3e} > {tol:.0e}");
    let worst = WORST.take();
    WORST.set(if err > worst.0 {
        (err, name.to_string())
    } else {
        worst
    });
}

/// Sum of absolute differences of two count arrays.
fn count_diff(got: &Value, want: &Value) -> f64 {
    let (g, w) = (nums(got), nums(want));
    assert_eq!(g.len(), w.len());
    g.iter().zip(&w).map(|(a, b)| (a - b).abs()).sum()
}

fn mismatches(got: &Value, want: &Value) -> usize {
    let (g, w) = (nums(got), nums(want));
    assert_eq!(g.len(), w.len());
    g.iter().zip(&w).filter(|(a, b)| a != b).count()
}

/// Flips each principal axis of `got` (and the matching coordinate of every point set) to the
/// reference's sign: PCA axes are defined up to sign, and a near-tie in the sign rule's largest
/// entry could flip it.
fn align_scatter(got: &mut Value, want: &Value) {
    let m = want["axes"].as_array().unwrap().len();
    for c in 0..m {
        let dot: f64 = nums(&got["axes"][c])
            .iter()
            .zip(nums(&want["axes"][c]))
            .map(|(a, b)| a * b)
            .sum();
        if dot < 0.0 {
            for v in got["axes"][c].as_array_mut().unwrap() {
                *v = Value::from(-v.as_f64().unwrap());
            }
            for set in ["before", "after", "next"] {
                for p in got[set].as_array_mut().unwrap() {
                    p[c] = Value::from(-p[c].as_f64().unwrap());
                }
            }
        }
    }
}

fn check_scatter(label: &str, got: &mut Value, want: &Value, tol: f64) {
    align_scatter(got, want);
    for key in [
        "center",
        "axes",
        "variance",
        "explained",
        "before",
        "after",
        "next",
    ] {
        close(
            &format!("{label} scatter.{key}"),
            &got[key],
            &want[key],
            tol,
        );
    }
}

fn check_spectrum(label: &str, got: &Value, want: &Value, tol: f64) -> usize {
    close(
        &format!("{label} sigma1"),
        &got["sigma1"],
        &want["sigma1"],
        tol,
    );
    close(
        &format!("{label} normalised"),
        &got["normalised"],
        &want["normalised"],
        tol,
    );
    let (g, w) = (
        got["rank90"].as_i64().unwrap(),
        want["rank90"].as_i64().unwrap(),
    );
    assert!((g - w).abs() <= 1, "{label} rank90 {g} vs {w}");
    usize::from(g != w)
}

fn check_case(kind: Kind, model: &Model, trace: &Trace, want: &Value, margins: &Value) {
    let tol = kind.tol();
    let mg = &margins[kind.margin_key()];
    let cfg = &model.config;
    let (b, l, k) = (
        want["image"].as_u64().unwrap() as usize,
        want["layer"].as_u64().unwrap() as usize,
        want["head"].as_u64().unwrap() as usize,
    );
    let label = format!("{kind:?} image {b} layer {l} head {k}");
    let opts = SubspaceOptions {
        image: b,
        atom: Some(want["codes"]["atom"].as_u64().unwrap() as usize),
        ..Default::default()
    };
    let report = subspace_report(&model.params, cfg, trace, l, k, &opts).unwrap();
    let mut got = serde_json::to_value(&report).unwrap();
    // Every field the view receives is one the reference computed, and the other way round.
    let keys = |v: &Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
    assert_eq!(keys(&got), keys(want), "{label}: report fields");

    for key in ["image", "layer", "head", "heads", "head_dim", "tokens"] {
        assert_eq!(got[key], want[key], "{label} {key}");
    }

    // 1. Raw coordinates in the head's subspace, then the scatter.
    let dims = Dims::of(cfg, trace, l, k).unwrap();
    let lt = &trace.layers[l];
    let w = layer_weights(&model.params, cfg, l).unwrap();
    let (n, d, dh) = (dims.tokens, dims.dim, dims.head_dim);
    let coords = [
        (
            "before",
            head_columns(dims.image(&lt.proj_in.data, b), n, d, dh, k),
        ),
        (
            "after",
            head_columns(dims.image(&lt.proj_half.data, b), n, d, dh, k),
        ),
        (
            "next",
            head_columns(&next_projection(lt, &w, &dims, b), n, d, dh, k),
        ),
    ];
    for (name, c) in coords {
        close(
            &format!("{label} coords.{name}"),
            &Value::from(c),
            &margins["coords"][name],
            tol,
        );
    }
    check_scatter(&label, &mut got["scatter"], &want["scatter"], tol);

    // 2. Energies: shares sum to 1 per token; winners may differ only on near-ties.
    let (ge, we) = (&got["energy"], &want["energy"]);
    close(&format!("{label} share"), &ge["share"], &we["share"], tol);
    close(
        &format!("{label} captured"),
        &ge["captured"],
        &we["captured"],
        tol,
    );
    for t in 0..n {
        let s: f64 = (0..dims.heads)
            .map(|h| ge["share"][h][t].as_f64().unwrap())
            .sum();
        assert!(
            (s - 1.0).abs() < 1e-12,
            "{label}: shares of token {t} sum to {s}"
        );
    }
    for (key, ties) in [
        ("winner", "share_ties"),
        ("winner_captured", "captured_ties"),
    ] {
        let bad = mismatches(&ge[key], &we[key]);
        assert!(
            bad as u64 <= mg[ties].as_u64().unwrap(),
            "{label} {key}: {bad} differ"
        );
    }

    // 3. Per-head R^c, every layer: the reference's terms, and summing to the totals the Layers
    // view shows (analysis::layer_stats on the same trace) and the reference's totals.
    let stats = layer_stats(trace, dims.heads);
    let fx = reference();
    for (ll, (gr, wr)) in got["compression"]
        .as_array()
        .unwrap()
        .iter()
        .zip(want["compression"].as_array().unwrap())
        .enumerate()
    {
        for (key, total, fx_key) in [
            ("rc_in", stats[b][ll].rc_in, "rc_in"),
            ("rc_out", stats[b][ll].rc_out, "rc_out"),
        ] {
            close(
                &format!("{label} layer {ll} {key}"),
                &gr[key],
                &wr[key],
                tol,
            );
            let sum: f64 = nums(&gr[key]).iter().sum();
            assert!(
                (sum - total).abs() <= 1e-12 * total.abs(),
                "{label} layer {ll} {key}: terms sum to {sum}, layer_stats says {total}"
            );
            let want_total = fx[fx_key][b][ll].as_f64().unwrap();
            assert!((sum - want_total).abs() <= tol * want_total.abs());
        }
    }
    close(
        &format!("{label} rc_next"),
        &got["rc_next"],
        &want["rc_next"],
        tol,
    );

    // 4. Overlap (weights only: the same on every engine).
    for key in ["matrix", "random", "offdiag_rms", "union_sv", "u_sv"] {
        close(
            &format!("{label} overlap.{key}"),
            &got["overlap"][key],
            &want["overlap"][key],
            tol,
        );
    }

    // 5. Sparse codes: counts move only where an activation is within the engine's error of 0
    // or of a bin edge.
    let (gc, wc) = (&got["codes"], &want["codes"]);
    let near_zero = mg["near_zero"].as_f64().unwrap();
    let near_edge = mg["near_edge"].as_f64().unwrap();
    assert_eq!(gc["total"], wc["total"]);
    assert_eq!(gc["atom"], wc["atom"]);
    assert!(
        count_diff(&gc["zeros"], &wc["zeros"]) <= near_zero,
        "{label} zeros"
    );
    assert!(
        count_diff(&gc["nnz"], &wc["nnz"]) <= near_zero,
        "{label} nnz"
    );
    assert!(
        count_diff(&gc["usage"], &wc["usage"]) <= near_zero,
        "{label} usage"
    );
    let hist = count_diff(&gc["histogram"]["counts"], &wc["histogram"]["counts"])
        + count_diff(&gc["histogram"]["overflow"], &wc["histogram"]["overflow"]);
    assert!(
        hist <= near_zero + 2.0 * near_edge,
        "{label} histogram moved {hist}"
    );
    assert_eq!(gc["histogram"]["max"], wc["histogram"]["max"]);
    if gc["usage"] == wc["usage"] {
        assert_eq!(gc["order"], wc["order"], "{label} order");
    }
    close(&format!("{label} mass"), &gc["mass"], &wc["mass"], tol);
    close(
        &format!("{label} atom_map"),
        &gc["atom_map"],
        &wc["atom_map"],
        tol,
    );

    // 6. Spectra.
    let mut rank_moves = 0;
    let (gs, ws) = (&got["spectra"], &want["spectra"]);
    for (i, (g, w)) in gs["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .zip(ws["tokens"].as_array().unwrap())
        .enumerate()
    {
        rank_moves += check_spectrum(&format!("{label} tokens[{i}]"), g, w, tol);
    }
    assert_eq!(gs["tokens"].as_array().unwrap().len(), cfg.depth + 1);
    for ll in 0..cfg.depth {
        for h in 0..dims.heads {
            rank_moves += check_spectrum(
                &format!("{label} heads[{ll}][{h}]"),
                &gs["heads"][ll][h],
                &ws["heads"][ll][h],
                tol,
            );
        }
    }
    assert!(
        rank_moves as u64 <= mg["rank90_near"].as_u64().unwrap(),
        "{label}: {rank_moves} rank90 moved"
    );
    eprintln!("{label}: matches the NumPy reference (tolerance {tol:.0e})");
}

fn check_batch(kind: Kind, model: &Model, trace: &Trace, fx: &Value) {
    let tol = kind.tol();
    let want = &fx["batch"];
    let labels: Vec<usize> = serde_json::from_value(fx["labels"].clone()).unwrap();
    let (l, k) = (
        want["layer"].as_u64().unwrap() as usize,
        want["head"].as_u64().unwrap() as usize,
    );
    let report = batch_report(
        &model.params,
        &model.config,
        trace,
        l,
        k,
        &labels,
        &SubspaceOptions::default(),
    )
    .unwrap();
    let mut got = serde_json::to_value(&report).unwrap();
    let label = format!("{kind:?} batch layer {l} head {k}");
    for key in ["layer", "head", "images", "tokens", "labels"] {
        assert_eq!(got[key], want[key], "{label} {key}");
    }
    check_scatter(&label, &mut got["scatter"], &want["scatter"], tol);
    close(
        &format!("{label} rc_in"),
        &got["rc_in"],
        &want["rc_in"],
        tol,
    );
    close(
        &format!("{label} rc_out"),
        &got["rc_out"],
        &want["rc_out"],
        tol,
    );
    let near_zero = fx["batch_margins"][kind.margin_key()]["near_zero"]
        .as_f64()
        .unwrap();
    let (gc, wc) = (
        got["classes"].as_array().unwrap(),
        want["classes"].as_array().unwrap(),
    );
    assert_eq!(gc.len(), wc.len());
    let mut usage_moves = 0.0;
    for (g, w) in gc.iter().zip(wc) {
        assert_eq!((&g["class"], &g["images"]), (&w["class"], &w["images"]));
        for (i, (gs, ws)) in g["spectra"]
            .as_array()
            .unwrap()
            .iter()
            .zip(w["spectra"].as_array().unwrap())
            .enumerate()
        {
            let c = &g["class"];
            close(
                &format!("{label} class {c} spectra[{i}]"),
                &gs["normalised"],
                &ws["normalised"],
                tol,
            );
            close(
                &format!("{label} class {c} sigma1[{i}]"),
                &gs["sigma1"],
                &ws["sigma1"],
                tol,
            );
            if kind == Kind::Cpu {
                assert_eq!(gs["rank90"], ws["rank90"]);
            }
        }
        usage_moves += count_diff(&g["usage"], &w["usage"]);
    }
    assert!(
        usage_moves <= near_zero,
        "{label}: class usage moved {usage_moves}"
    );
    eprintln!("{label}: matches the NumPy reference (tolerance {tol:.0e})");
}

fn check_engine(kind: Kind) {
    let fx = reference();
    let model = model();
    let x = input(&fx);
    let trace = trace(kind, &model, &x);
    let cases = fx["cases"].as_array().unwrap();
    assert!(cases.len() >= 2);
    for (case, margins) in cases.iter().zip(fx["margins"].as_array().unwrap()) {
        check_case(kind, &model, &trace, case, margins);
    }
    check_batch(kind, &model, &trace, &fx);
    let (err, name) = WORST.take();
    eprintln!(
        "{kind:?}: largest relative error {err:.2e} ({name}), tolerance {:.0e}",
        kind.tol()
    );
}

#[test]
fn cpu_engine_matches_numpy_reference() {
    check_engine(Kind::Cpu);
}

#[test]
fn gpu_engine_matches_numpy_reference() {
    check_engine(Kind::Gpu);
}

#[test]
fn default_atom_is_the_most_used_and_bad_requests_are_errors() {
    let fx = reference();
    let model = model();
    let trace = trace(Kind::Cpu, &model, &input(&fx));
    let cfg = &model.config;
    let r = subspace_report(
        &model.params,
        cfg,
        &trace,
        2,
        1,
        &SubspaceOptions::default(),
    )
    .unwrap();
    assert_eq!(r.codes.atom, r.codes.order[0]);
    assert!(r
        .codes
        .usage
        .iter()
        .all(|&u| u <= r.codes.usage[r.codes.atom]));
    assert_eq!(r.scatter.before[0].len(), 3);
    let two = SubspaceOptions {
        axes: 2,
        ..Default::default()
    };
    let r2 = subspace_report(&model.params, cfg, &trace, 2, 1, &two).unwrap();
    assert_eq!(r2.scatter.before[0].len(), 2);
    // The first two axes do not depend on how many are asked for.
    assert_eq!(r2.scatter.fit.axes[..], r.scatter.fit.axes[..2]);

    let opts = SubspaceOptions::default();
    assert!(subspace_report(&model.params, cfg, &trace, cfg.depth, 0, &opts).is_err());
    assert!(subspace_report(&model.params, cfg, &trace, 0, cfg.heads, &opts).is_err());
    let far = SubspaceOptions {
        image: 3,
        ..Default::default()
    };
    assert!(subspace_report(&model.params, cfg, &trace, 0, 0, &far).is_err());
    let bad_atom = SubspaceOptions {
        atom: Some(cfg.dim),
        ..Default::default()
    };
    assert!(subspace_report(&model.params, cfg, &trace, 0, 0, &bad_atom).is_err());
    assert!(batch_report(&model.params, cfg, &trace, 0, 0, &[1, 2], &opts).is_err());
    let mut short = trace.clone();
    short.layers.pop();
    assert!(subspace_report(&model.params, cfg, &short, 0, 0, &opts).is_err());
    assert!(subspace_report(&model.params, cfg, &Trace::default(), 0, 0, &opts).is_err());
}

/// The page's cache (computed step by step, then read per layer and head) gives exactly the
/// report `subspace_report` computes in one go, for every image, layer, head and a chosen atom.
#[test]
fn cache_reports_equal_the_direct_report() {
    use std::sync::Arc;
    use whitebox::analysis::subspaces::{SubspaceBuilder, SubspaceCache};
    let fx = reference();
    let model = model();
    let trace = Arc::new(trace(Kind::Cpu, &model, &input(&fx)));
    let cfg = &model.config;
    let images = trace.layers[0].z.shape[0];
    for image in 0..images {
        let opts = SubspaceOptions {
            image,
            ..Default::default()
        };
        let mut builder =
            SubspaceBuilder::new(&model.params, cfg, trace.clone(), opts.clone()).unwrap();
        let steps = builder.steps();
        assert_eq!(steps, cfg.depth * 3 + 1);
        while !builder.done() {
            builder.step().unwrap();
        }
        assert_eq!(builder.done_steps(), steps);
        let cache = builder.finish().unwrap();
        for layer in 0..cfg.depth {
            for head in 0..cfg.heads {
                let direct =
                    subspace_report(&model.params, cfg, &trace, layer, head, &opts).unwrap();
                assert_eq!(cache.report(layer, head, None).unwrap(), direct);
            }
        }
        let atom = SubspaceOptions {
            atom: Some(3),
            ..opts.clone()
        };
        assert_eq!(
            cache.report(1, 0, Some(3)).unwrap(),
            subspace_report(&model.params, cfg, &trace, 1, 0, &atom).unwrap()
        );
        assert!(cache.report(cfg.depth, 0, None).is_err());
        assert!(cache.report(0, cfg.heads, None).is_err());
        assert!(cache.report(0, 0, Some(cfg.dim)).is_err());
    }
    let far = SubspaceOptions {
        image: images,
        ..Default::default()
    };
    assert!(SubspaceCache::new(&model.params, cfg, trace.clone(), far).is_err());
}
