//! Which epoch's weights a run keeps as `best`: the highest held-out accuracy (the default), or,
//! for a model shown for its attention maps, the most segmentation-like CLS attention among the
//! epochs that classify well enough. Both are measured on the evaluation split the trainer is
//! given (the validation images with `--val`), never on a test split it does not see.
//!
//! Why a second rule: on the synthetic shapes the CLS attention's mIoU with the true masks rises
//! in the first epochs and then drifts as accuracy keeps climbing (the classifier narrows onto
//! the few patches that tell the classes apart), so the last accurate epoch is not the one
//! whose maps segment best.

use serde::{Deserialize, Serialize};

use super::Trainer;
use crate::analysis::maps::cls_rows_of;
use crate::analysis::segment::{majority_patch_mask, SegmentScorer, SegmentScores, DEFAULT_MASS};
use crate::cpu::CpuEngine;
use crate::data::{make_batch, ImageDataset};
use crate::engine::{Engine, ForwardOptions};
use crate::error::{Error, Result};

/// The rule for the `best` checkpoint.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub enum Selection {
    /// The highest evaluation accuracy (first on ties).
    #[default]
    Accuracy,
    /// The highest segmentation score ([`segment_score`]) among epochs whose evaluation
    /// accuracy is at least `min_accuracy`; until one is, the highest accuracy.
    Segment { min_accuracy: f64 },
}

impl Selection {
    /// A number that orders epochs under this rule (higher is better): every epoch that meets
    /// the accuracy floor ranks above every epoch that does not.
    pub fn key(&self, accuracy: f64, segment: Option<f64>) -> f64 {
        match *self {
            Selection::Accuracy => accuracy,
            Selection::Segment { min_accuracy } => match segment {
                Some(s) if accuracy >= min_accuracy => 2.0 + s,
                _ => accuracy,
            },
        }
    }
}

/// The segmentation score an epoch is chosen by: the best layer's mIoU of the 60 % mass masks,
/// averaged over that layer's heads (each head's map scored on its own, as the model card's
/// target is stated).
pub fn segment_score(s: &SegmentScores) -> f64 {
    per_layer_head_mean(s).into_iter().fold(0.0, f64::max)
}

/// Each layer's mass-threshold mIoU averaged over its heads.
pub fn per_layer_head_mean(s: &SegmentScores) -> Vec<f64> {
    s.layers
        .iter()
        .map(|l| l.heads.iter().map(|h| h.miou_mass).sum::<f64>() / l.heads.len().max(1) as f64)
        .collect()
}

impl Trainer {
    /// Segmentation scores of the current weights on the first `n` items of `ds`, against the
    /// masks the dataset knows; `None` when it knows none (the first item has no mask).
    pub fn segment_scores<D: ImageDataset + ?Sized>(
        &self,
        ds: &D,
        n: usize,
    ) -> Result<Option<SegmentScores>> {
        let n = n.min(ds.len());
        if n == 0 || ds.mask(0).is_none() {
            return Ok(None);
        }
        let cfg = &self.config;
        let [h, w] = cfg.image;
        let nt = cfg.tokens();
        let mut engine = CpuEngine::new(self.model());
        let mut scorer = SegmentScorer::new(cfg.depth, cfg.heads, DEFAULT_MASS);
        let opts = ForwardOptions {
            cls: true,
            ..Default::default()
        };
        for start in (0..n).step_by(64) {
            let idx: Vec<usize> = (start..(start + 64).min(n)).collect();
            let b = make_batch(ds, &idx, cfg, None)?;
            let out = engine.forward(&b.images, opts)?;
            let cls = out
                .cls
                .ok_or_else(|| Error::Input("the engine returned no attention rows".into()))?;
            let per = cfg.heads * nt;
            for (j, &i) in idx.iter().enumerate() {
                let mask = ds
                    .mask(i)
                    .ok_or_else(|| Error::Dataset(format!("item {i} has no mask")))?;
                let truth = majority_patch_mask(&mask, h, w, cfg.patch);
                let rows: Vec<Vec<Vec<f32>>> = cls
                    .iter()
                    .map(|t| cls_rows_of(&t.data[j * per..(j + 1) * per], cfg.heads, nt))
                    .collect();
                scorer.add(&rows, &truth)?;
            }
        }
        Ok(Some(scorer.finish()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segment_rule_prefers_accurate_epochs_then_segmentation() {
        let r = Selection::Segment { min_accuracy: 0.95 };
        // Below the floor, accuracy decides; any epoch at the floor beats all below it.
        assert!(r.key(0.90, Some(0.6)) < r.key(0.93, Some(0.1)));
        assert!(r.key(0.95, Some(0.1)) > r.key(0.94, Some(0.9)));
        // At or above the floor, segmentation decides, whatever the accuracy.
        assert!(r.key(0.96, Some(0.45)) > r.key(0.99, Some(0.40)));
        // An epoch without a segmentation score ranks by accuracy only.
        assert!(r.key(0.99, None) < r.key(0.95, Some(0.0)));
        let a = Selection::Accuracy;
        assert!(a.key(0.99, Some(0.1)) > a.key(0.98, Some(0.9)));
        let old: Selection = serde_json::from_str("\"Accuracy\"").unwrap();
        assert_eq!(old, Selection::default());
    }
}
