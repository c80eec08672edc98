//! One image's analysis, as the page and `whitebox forward --json` show it: predictions,
//! per-layer measures, per-head CLS attention rows and the ISTA outputs, cut out of a traced
//! batch forward. Pure data; views render it, the CLI prints it.

use serde::Serialize;

use super::maps::cls_rows_of;
use super::rollout::report_rollout;
use super::{cls_rows, layer_stats, mean_map, LayerStats};
use crate::engine::ForwardOutput;
use crate::error::{Error, Result};
use crate::model::CrateConfig;

/// Softmax probabilities (in f64 for a stable sum).
pub fn softmax(logits: &[f32]) -> Vec<f64> {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max) as f64;
    let e: Vec<f64> = logits.iter().map(|&v| (v as f64 - max).exp()).collect();
    let s: f64 = e.iter().sum();
    e.into_iter().map(|v| v / s).collect()
}

/// Indices of the k largest entries, highest first (ties: lower index first).
pub fn top_k(probs: &[f64], k: usize) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..probs.len()).collect();
    idx.sort_by(|&a, &b| probs[b].total_cmp(&probs[a]).then(a.cmp(&b)));
    idx.truncate(k);
    idx
}

/// One class of a top-k list.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Prediction {
    pub class: usize,
    pub name: String,
    pub prob: f64,
    pub logit: f32,
}

/// The top `k` predictions of one image's logits.
pub fn predictions(cfg: &CrateConfig, logits: &[f32], k: usize) -> Vec<Prediction> {
    let probs = softmax(logits);
    top_k(&probs, k)
        .into_iter()
        .map(|c| Prediction {
            class: c,
            name: cfg.class_name(c),
            prob: probs[c],
            logit: logits[c],
        })
        .collect()
}

/// Per-layer measures as `forward --json` and the page print them: `[{layer, rc_in, rc_out,
/// sparsity}, …]`.
pub fn layers_json(layers: &[LayerStats]) -> serde_json::Value {
    layers
        .iter()
        .enumerate()
        .map(|(l, s)| serde_json::json!({"layer": l, "rc_in": s.rc_in, "rc_out": s.rc_out, "sparsity": s.sparsity}))
        .collect()
}

/// Everything the views show about one image, for every layer.
#[derive(Clone, Debug, PartialEq)]
pub struct ImageReport {
    /// The model input size (h, w) and its patch grid (rows, columns).
    pub input_size: [usize; 2],
    pub grid: [usize; 2],
    /// Channels d and tokens N (CLS first).
    pub dim: usize,
    pub tokens: usize,
    pub logits: Vec<f32>,
    pub top5: Vec<Prediction>,
    /// Per layer: R^c at the MSSA input, after the MSSA step, and the ISTA non-zero fraction.
    pub layers: Vec<LayerStats>,
    /// `[layer][head]`: the CLS query's attention over the patches (grid row-major).
    pub cls: Vec<Vec<Vec<f32>>>,
    /// `[layer]`: Z^{l+1}, the ISTA output (N, d), CLS first.
    pub zout: Vec<Vec<f32>>,
    /// `[layer]`: the CLS row of the attention rollout up to that layer, over the patches
    /// ([`super::rollout`]; empty for all but the last layer on very large models).
    pub rollout: Vec<Vec<f32>>,
}

impl ImageReport {
    /// The mean over heads of one layer's CLS rows.
    pub fn mean_map(&self, layer: usize) -> Vec<f32> {
        mean_map(&self.cls[layer])
    }

    /// True when the report holds no token states (a large input, [`super::plan`]).
    pub fn is_light(&self) -> bool {
        self.zout.iter().all(Vec::is_empty)
    }

    /// The map a view asks for: one head, or the mean over heads (`None`).
    pub fn map(&self, layer: usize, head: Option<usize>) -> Vec<f32> {
        match head {
            Some(k) => self.cls[layer][k].clone(),
            None => self.mean_map(layer),
        }
    }

    /// The same numbers as one line of `whitebox forward --json` (minus the file name and
    /// engine): logits, top5, per-layer measures, and the last layer's mean CLS map.
    pub fn json(&self) -> serde_json::Value {
        serde_json::json!({
            "input_size": self.input_size,
            "grid": self.grid,
            "logits": self.logits,
            "top5": self.top5,
            "layers": layers_json(&self.layers),
            "attention_mean": self.cls.last().map(|rows| mean_map(rows)).unwrap_or_default(),
            "rollout": self.rollout.last().cloned().unwrap_or_default(),
        })
    }
}

/// Splits a forward of inputs of size (h, w) into one report per image: a forward that ran with
/// `trace` and `attention` gives everything; one that ran with `stats` and `cls` only (the
/// page's path for large inputs, [`super::plan`]) gives no token states and no rollout (their
/// lists hold one empty entry per layer).
pub fn image_reports(
    cfg: &CrateConfig,
    out: &ForwardOutput,
    size: [usize; 2],
) -> Result<Vec<ImageReport>> {
    match (&out.trace, &out.stats, &out.cls) {
        (None, Some(stats), Some(cls)) => light_reports(cfg, &out.logits, stats, cls, size),
        _ => full_reports(cfg, out, size),
    }
}

/// Reports from the per-layer measures and CLS rows `cls[layer]` (B, K, N).
fn light_reports(
    cfg: &CrateConfig,
    logits: &crate::tensor::Tensor,
    stats: &[Vec<LayerStats>],
    cls: &[crate::tensor::Tensor],
    size: [usize; 2],
) -> Result<Vec<ImageReport>> {
    let grid = [size[0] / cfg.patch, size[1] / cfg.patch];
    let nt = grid[0] * grid[1] + 1;
    let b = logits.shape.first().copied().unwrap_or(0);
    if cls.len() != cfg.depth || cls.iter().any(|t| t.shape != [b, cfg.heads, nt]) {
        return Err(Error::Input(format!(
            "input {}x{} has {nt} tokens but the engine's CLS rows do not match",
            size[0], size[1]
        )));
    }
    if stats.len() != b {
        return Err(Error::Input(
            "the engine returned no measures for some images".into(),
        ));
    }
    let classes = logits.shape.get(1).copied().unwrap_or(0);
    Ok((0..b)
        .map(|i| {
            let logits = logits.data[i * classes..(i + 1) * classes].to_vec();
            let per = cfg.heads * nt;
            let cls = cls
                .iter()
                .map(|t| cls_rows_of(&t.data[i * per..(i + 1) * per], cfg.heads, nt))
                .collect();
            ImageReport {
                input_size: size,
                grid,
                dim: cfg.dim,
                tokens: nt,
                top5: predictions(cfg, &logits, 5),
                logits,
                layers: stats[i].clone(),
                cls,
                zout: vec![Vec::new(); cfg.depth],
                rollout: vec![Vec::new(); cfg.depth],
            }
        })
        .collect())
}

fn full_reports(
    cfg: &CrateConfig,
    out: &ForwardOutput,
    size: [usize; 2],
) -> Result<Vec<ImageReport>> {
    let trace = out.trace.as_ref().ok_or_else(|| {
        Error::Input("the forward was run without a trace; ask for trace and attention".into())
    })?;
    let Some(first) = trace.layers.first() else {
        return Err(Error::Input("the model has no layers".into()));
    };
    let (b, nt, d) = (first.z.shape[0], first.z.shape[1], first.z.shape[2]);
    let grid = [size[0] / cfg.patch, size[1] / cfg.patch];
    if grid[0] * grid[1] + 1 != nt {
        return Err(Error::Input(format!(
            "input {}x{} has {} patches but the trace has {nt} tokens",
            size[0],
            size[1],
            grid[0] * grid[1]
        )));
    }
    let stats = layer_stats(trace, cfg.heads);
    let classes = out.logits.shape.get(1).copied().unwrap_or(0);
    (0..b)
        .map(|i| {
            let logits = out.logits.data[i * classes..(i + 1) * classes].to_vec();
            let mut cls = Vec::with_capacity(trace.layers.len());
            let mut zout = Vec::with_capacity(trace.layers.len());
            let mut attns = Vec::with_capacity(trace.layers.len());
            for lt in &trace.layers {
                let attn = lt.attn.as_ref().ok_or_else(|| {
                    Error::Input("the forward was run without attention probabilities".into())
                })?;
                let per = attn.numel() / b;
                let mine = &attn.data[i * per..(i + 1) * per];
                cls.push(cls_rows(mine, cfg.heads, nt));
                attns.push(mine);
                zout.push(lt.zout.data[i * nt * d..(i + 1) * nt * d].to_vec());
            }
            let rollout = report_rollout(&attns, cfg.heads, nt);
            Ok(ImageReport {
                input_size: size,
                grid,
                dim: d,
                tokens: nt,
                top5: predictions(cfg, &logits, 5),
                logits,
                layers: stats[i].clone(),
                cls,
                zout,
                rollout,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn softmax_and_top_k() {
        let p = softmax(&[1.0, 3.0, 2.0, 3.0]);
        assert!((p.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        assert!(p[1] > p[2] && p[2] > p[0]);
        // Ties go to the lower index.
        assert_eq!(top_k(&p, 3), vec![1, 3, 2]);
        assert_eq!(top_k(&p, 9).len(), 4);
    }

    #[test]
    fn reports_cut_a_batch_into_images() {
        use crate::{Engine, ForwardOptions};
        let (cfg, mut engine, input, out) = crate::selftest::traced_selftest();
        let reports = image_reports(&cfg, &out, [28, 28]).unwrap();
        assert_eq!(reports.len(), 3);
        let trace = out.trace.as_ref().unwrap();
        let stats = layer_stats(trace, cfg.heads);
        let (nt, d) = (50, cfg.dim);
        for (i, r) in reports.iter().enumerate() {
            assert_eq!((r.grid, r.tokens, r.dim), ([7, 7], nt, d));
            assert_eq!(r.logits, out.logits.data[i * 10..(i + 1) * 10]);
            assert_eq!(r.layers, stats[i]);
            // The top class is the largest logit; probabilities are in order.
            let best = (0..10)
                .max_by(|&a, &b| r.logits[a].total_cmp(&r.logits[b]))
                .unwrap();
            assert_eq!(r.top5[0].class, best);
            assert!(r.top5.windows(2).all(|w| w[0].prob >= w[1].prob));
            for (l, lt) in trace.layers.iter().enumerate() {
                let attn = lt.attn.as_ref().unwrap();
                for k in 0..cfg.heads {
                    // The CLS row of head k, patches only.
                    let at = ((i * cfg.heads + k) * nt) * nt;
                    assert_eq!(r.cls[l][k], attn.data[at + 1..at + nt]);
                }
                assert_eq!(r.zout[l], lt.zout.data[i * nt * d..(i + 1) * nt * d]);
            }
            let mean = r.mean_map(cfg.depth - 1);
            assert_eq!(r.map(cfg.depth - 1, None), mean);
        }
        // A size that does not match the trace is refused.
        assert!(image_reports(&cfg, &out, [28, 32]).is_err());
        // So is a forward without attention.
        let bare = engine
            .forward(
                &input,
                ForwardOptions {
                    trace: true,
                    ..ForwardOptions::default()
                },
            )
            .unwrap();
        assert!(image_reports(&cfg, &bare, [28, 28]).is_err());
    }

    #[test]
    fn light_reports_agree_with_full_ones() {
        use crate::{Engine, ForwardOptions};
        let (cfg, mut engine, input, full_out) = crate::selftest::traced_selftest();
        let light_opts = ForwardOptions {
            stats: true,
            cls: true,
            ..ForwardOptions::default()
        };
        let full = image_reports(&cfg, &full_out, [28, 28]).unwrap();
        let out = engine.forward(&input, light_opts).unwrap();
        let light = image_reports(&cfg, &out, [28, 28]).unwrap();
        assert_eq!(light.len(), full.len());
        for (f, l) in full.iter().zip(&light) {
            assert!(!f.is_light() && l.is_light());
            assert_eq!((l.grid, l.tokens, l.dim), (f.grid, f.tokens, f.dim));
            assert_eq!(l.logits, f.logits);
            assert_eq!(l.cls, f.cls);
            assert_eq!(l.top5, f.top5);
            for (a, b) in l.layers.iter().zip(&f.layers) {
                assert!((a.rc_in - b.rc_in).abs() <= 1e-9 * b.rc_in.abs().max(1.0));
                assert!((a.rc_out - b.rc_out).abs() <= 1e-9 * b.rc_out.abs().max(1.0));
                assert_eq!(a.sparsity, b.sparsity);
            }
            assert_eq!(l.zout.len(), cfg.depth);
            assert!(l.rollout.iter().all(Vec::is_empty));
            assert_eq!(l.json()["attention_mean"], f.json()["attention_mean"]);
        }
        // CLS rows of another size are refused.
        assert!(image_reports(&cfg, &out, [28, 35]).is_err());
    }
}
