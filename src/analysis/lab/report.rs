//! One run of the lab: the idealised operators unrolled on the generated tokens, every measure
//! per layer, the subspaces' geometry, and the coding-length curve: the data behind every plot
//! (`whitebox lab run --json` prints it; the page keeps the same in `#wb-lab-report`).

use serde::Serialize;

use super::angles::{angle_matrix, match_subspaces, principal_angles, Matching};
use super::coding_length::{eps_grid, CodingCurve};
use super::config::LabConfig;
use super::inputs::{widen, LabInputs, Mat};
use super::ista::{dictionary, ista_step};
use super::measures::{coding_rate, nonzero_fraction, snr, theory_line};
use super::mssa::{add_head_rows, apply, attention_rows, coordinates, theta};
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

/// The lab run in small steps (one layer, or one ε of the coding curve, per step), so that the
/// page can yield to the browser between them; [`run_on`] is all the steps at once.
pub struct LabRun {
    cfg: LabConfig,
    bases: Vec<Mat>,
    heads: Vec<Mat>,
    dict: Mat,
    m: usize,
    z: Mat,
    labels: Vec<usize>,
    points: Mat,
    point_labels: Vec<usize>,
    eps: Vec<f64>,
    layer: usize,
    /// The layer in progress: its head, next row, that head's coordinates and θ, the summed
    /// head outputs.
    work: Option<Work>,
    done: usize,
    rep: LabReport,
}

struct Work {
    head: usize,
    row: usize,
    x: Mat,
    theta: f64,
    delta: Mat,
}

/// Attention rows per step: a step stays a few milliseconds in an unoptimised wasm build.
const ROWS_PER_STEP: usize = 32;

impl LabRun {
    pub fn new(cfg: &LabConfig, inp: &LabInputs) -> Result<Self> {
        cfg.validate()?;
        let (d, p, q) = (cfg.d, cfg.p, cfg.head_dim);
        let bases: Vec<Mat> = inp.bases.iter().map(|b| widen(b)).collect();
        let heads: Vec<Mat> = inp.heads.iter().map(|b| widen(b)).collect();
        let (dict, m) = dictionary(cfg.dictionary, d, &bases, p);
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
            coding: CodingCurve::empty(cfg.cluster_noise),
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
        let mut run = Self {
            cfg: cfg.clone(),
            z: widen(&inp.tokens),
            labels: inp.labels.clone(),
            points: widen(&inp.points),
            point_labels: inp.point_labels.clone(),
            eps: eps_grid(),
            bases,
            heads,
            dict,
            m,
            layer: 0,
            work: None,
            done: 0,
            rep,
        };
        run.measure();
        Ok(run)
    }

    fn measure(&mut self) {
        let (n, d, p) = (self.cfg.n, self.cfg.d, self.cfg.p);
        let z = &self.z;
        self.rep
            .snr
            .push(snr(z, n, d, &self.labels, &self.bases, p));
        self.rep.rc.push(coding_rate(z, n, d, &self.bases, p));
        let x = coordinates(z, n, d, &self.bases[self.cfg.focus], p);
        self.rep.scatter.push(rows3(&x, p, p.min(3)));
        if d == 3 {
            self.rep.raw3.push(rows3(z, 3, 3));
        }
    }

    /// Steps in all: per layer, every head's attention a block of rows at a time and the
    /// layer's end (ISTA, measures); then the ε grid.
    pub fn steps(&self) -> usize {
        let per_head = self.cfg.n.div_ceil(ROWS_PER_STEP);
        self.cfg.layers * (self.heads.len() * per_head + 1) + self.eps.len()
    }

    pub fn done_steps(&self) -> usize {
        self.done
    }

    pub fn done(&self) -> bool {
        self.done >= self.steps()
    }

    fn head_work(&self, head: usize, delta: Mat) -> Work {
        let (n, d, q) = (self.cfg.n, self.cfg.d, self.cfg.head_dim);
        let x = coordinates(&self.z, n, d, &self.heads[head], q);
        Work {
            head,
            row: 0,
            theta: theta(&x, n, q, self.cfg.threshold),
            x,
            delta,
        }
    }

    /// One block of attention rows, the end of a layer, or one ε of the coding curve.
    pub fn step(&mut self) {
        if self.done() {
            return;
        }
        self.done += 1;
        let (n, d, q) = (self.cfg.n, self.cfg.d, self.cfg.head_dim);
        if self.layer < self.cfg.layers {
            if self.work.is_none() {
                self.work = Some(self.head_work(0, vec![0.0; n * d]));
            }
            let Some(w) = self.work.as_mut() else { return };
            if w.head < self.heads.len() {
                let rows = w.row..(w.row + ROWS_PER_STEP).min(n);
                let a = attention_rows(&w.x, n, q, self.cfg.phi, w.theta, rows.clone());
                add_head_rows(
                    &mut w.delta,
                    &w.x,
                    &self.heads[w.head],
                    (n, d, q),
                    &a,
                    rows.clone(),
                );
                w.row = rows.end;
                if w.row == n && w.head + 1 < self.heads.len() {
                    let next = w.head + 1;
                    let delta = std::mem::take(&mut w.delta);
                    self.work = Some(self.head_work(next, delta));
                } else if w.row == n {
                    w.head += 1;
                }
                return;
            }
            let Some(w) = self.work.take() else { return };
            apply(&mut self.z, &w.delta, self.cfg.eta);
            self.layer += 1;
            if self.cfg.ista {
                let c = &self.cfg;
                let codes = ista_step(&mut self.z, n, d, &self.dict, self.m, c.ista_eta, c.lambda);
                self.rep.nonzero.push(nonzero_fraction(&codes));
            }
            self.measure();
        } else if let Some(&e) = self.eps.get(self.rep.coding.eps.len()) {
            self.rep.coding.push(&self.points, 3, &self.point_labels, e);
        }
    }

    pub fn finish(mut self) -> LabReport {
        while !self.done() {
            self.step();
        }
        self.rep.theory = theory_line(&self.rep.snr[0], self.cfg.eta, self.cfg.layers);
        self.rep
    }
}

/// Runs the lab on given inputs (generated from `cfg`, or a fixture's).
pub fn run_on(cfg: &LabConfig, inp: &LabInputs) -> Result<LabReport> {
    Ok(LabRun::new(cfg, inp)?.finish())
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
