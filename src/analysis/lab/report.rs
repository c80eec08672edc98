//! One run of the lab: the idealised operators unrolled on the generated tokens, every measure
//! per layer, the subspaces' geometry, and the coding-length curve: the data behind every plot
//! (`whitebox lab run --json` prints it; the page keeps the same in `#wb-lab-report`).

use serde::Serialize;

use super::angles::{angle_matrix, match_subspaces, principal_angles, Matching};
use super::coding_length::{coding_curve, CodingCurve};
use super::config::LabConfig;
use super::inputs::{widen, LabInputs, Mat};
use super::ista::{dictionary, ista_step};
use super::measures::{coding_rate, nonzero_fraction, snr, theory_line};
use super::mssa::{coordinates, mssa_step};
use crate::error::Result;

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LabReport {
    pub config: LabConfig,
    /// Tokens per subspace.
    pub counts: Vec<usize>,
    /// [layer 0..=L][k] SNR_k (layer 0 = the input).
    pub snr: Vec<Vec<f64>>,
    /// [layer][k] the geometric line `(1 + η)^l SNR_k(0)`.
    pub theory: Vec<Vec<f64>>,
    /// [layer] R^c(Z | U).
    pub rc: Vec<f64>,
    /// [layer 1..=L] non-zero fraction of the ISTA codes (empty without ISTA).
    pub nonzero: Vec<f64>,
    /// [layer][token] the focus subspace's first min(p, 3) coordinates `Z U_focus`.
    pub scatter: Vec<Vec<Vec<f64>>>,
    /// [layer][token] the raw tokens when d = 3 (empty otherwise), for the 3-D view.
    pub raw3: Vec<Vec<Vec<f64>>>,
    pub labels: Vec<usize>,
    /// (K, K) mean principal angle (degrees) between the true subspaces.
    pub true_angles: Vec<Vec<f64>>,
    /// The smallest principal angle over all pairs of true subspaces (90 when K = 1).
    pub min_angle: f64,
    /// The operator's heads matched to the true subspaces (exhaustive assignment), when H ≥ K.
    pub heads_match: Option<Matching>,
    pub coding: CodingCurve,
}

fn rows3(x: &[f64], cols: usize, keep: usize) -> Vec<Vec<f64>> {
    x.chunks_exact(cols).map(|r| r[..keep].to_vec()).collect()
}

/// Runs the lab on given inputs (generated from `cfg`, or a fixture's).
pub fn run_on(cfg: &LabConfig, inp: &LabInputs) -> Result<LabReport> {
    cfg.validate()?;
    let (n, d, p, q) = (cfg.n, cfg.d, cfg.p, cfg.head_dim);
    let bases: Vec<Mat> = inp.bases.iter().map(|b| widen(b)).collect();
    let heads: Vec<Mat> = inp.heads.iter().map(|b| widen(b)).collect();
    let mut z = widen(&inp.tokens);
    let (dict, m) = dictionary(cfg.dictionary, d, &bases, p);
    let keep = p.min(3);
    let mut rep = LabReport {
        config: cfg.clone(),
        counts: (0..cfg.k)
            .map(|k| inp.labels.iter().filter(|&&l| l == k).count())
            .collect(),
        snr: Vec::new(),
        theory: Vec::new(),
        rc: Vec::new(),
        nonzero: Vec::new(),
        scatter: Vec::new(),
        raw3: Vec::new(),
        labels: inp.labels.clone(),
        true_angles: angle_matrix(&bases, p, &bases, p, d),
        min_angle: 90.0,
        heads_match: None,
        coding: coding_curve(
            &widen(&inp.points),
            3,
            &inp.point_labels,
            cfg.cluster_noise,
        ),
    };
    for i in 0..cfg.k {
        for j in i + 1..cfg.k {
            let a = principal_angles(&bases[i], p, &bases[j], p, d);
            rep.min_angle = rep.min_angle.min(a.first().copied().unwrap_or(90.0));
        }
    }
    if cfg.heads >= cfg.k {
        rep.heads_match = Some(match_subspaces(&bases, p, &heads, q, d)?);
    }
    for l in 0..=cfg.layers {
        if l > 0 {
            mssa_step(&mut z, n, d, &heads, q, cfg.eta, cfg.phi, cfg.threshold);
            if cfg.ista {
                let codes = ista_step(&mut z, n, d, &dict, m, cfg.ista_eta, cfg.lambda);
                rep.nonzero.push(nonzero_fraction(&codes));
            }
        }
        rep.snr.push(snr(&z, n, d, &inp.labels, &bases, p));
        rep.rc.push(coding_rate(&z, n, d, &bases, p));
        let x = coordinates(&z, n, d, &bases[cfg.focus], p);
        rep.scatter.push(rows3(&x, p, keep));
        if d == 3 {
            rep.raw3.push(rows3(&z, 3, 3));
        }
    }
    rep.theory = theory_line(&rep.snr[0], cfg.eta, cfg.layers);
    Ok(rep)
}

/// Generates the inputs of `cfg` and runs the lab.
pub fn run(cfg: &LabConfig) -> Result<LabReport> {
    run_on(cfg, &LabInputs::generate(cfg)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::lab::config::{presets, Phi};

    #[test]
    fn every_preset_runs_and_the_default_follows_the_line() {
        for p in presets() {
            let r = run(&p.config).unwrap();
            assert_eq!(r.snr.len(), p.config.layers + 1, "{}", p.name);
            assert!(r.rc.iter().all(|v| v.is_finite()), "{}", p.name);
        }
        // Orthogonal planes, small δ, thresholded attention: after 8 layers each SNR is within
        // a factor 2 of the geometric line and has grown at least 10-fold.
        let r = run(&LabConfig::default()).unwrap();
        let last = r.snr.last().unwrap();
        for k in 0..3 {
            assert!(last[k] > 10.0 * r.snr[0][k], "{last:?} vs {:?}", r.snr[0]);
            assert!(last[k] > 0.5 * r.theory.last().unwrap()[k]);
        }
        assert!(r.rc.last().unwrap() < &r.rc[0]);
        let m = r.heads_match.unwrap();
        assert!(m.mean_angle < 1e-3, "{m:?}");
    }

    #[test]
    fn random_heads_grow_snr_less_than_true_ones() {
        let base = LabConfig {
            phi: Phi::Softmax,
            ..LabConfig::default()
        };
        let a = run(&base).unwrap();
        let b = run(&LabConfig {
            heads: 6,
            ..base.clone()
        })
        .unwrap();
        let s = |r: &LabReport| r.snr.last().unwrap().iter().sum::<f64>();
        assert!(s(&b) < s(&a), "{} vs {}", s(&b), s(&a));
    }
}
