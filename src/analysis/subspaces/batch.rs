//! Batch mode: the scatter over several images at once, tagged by image and class, and per-class
//! spectra and atom usage.

use std::collections::BTreeMap;

use serde::Serialize;

use super::codes::atom_usage;
use super::geometry::head_columns;
use super::spectra::{spectrum, Spectrum};
use super::{head_rates, layer_weights, next_projection, scatter, Dims, Scatter, SubspaceOptions};
use crate::engine::Trace;
use crate::error::{Error, Result};
use crate::model::{CrateConfig, Params};

/// One class's images pooled.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ClassSummary {
    pub class: usize,
    /// Indices into the batch.
    pub images: Vec<usize>,
    /// L + 1 spectra of all the class's tokens stacked (images × N rows), as
    /// [`super::Spectra::tokens`].
    pub spectra: Vec<Spectrum>,
    /// Per atom, the class's tokens using it at the chosen layer.
    pub usage: Vec<usize>,
}

/// The batch view of one layer and head.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct BatchReport {
    pub layer: usize,
    pub head: usize,
    pub images: usize,
    /// N per image.
    pub tokens: usize,
    /// Class of each image.
    pub labels: Vec<usize>,
    /// Axes fitted on every image's "before" coordinates together; points image-major
    /// (point i is token i % N of image i / N).
    pub scatter: Scatter,
    /// `[image][head]` R^c before and after the MSSA step at the chosen layer.
    pub rc_in: Vec<Vec<f64>>,
    pub rc_out: Vec<Vec<f64>>,
    /// Classes in increasing order.
    pub classes: Vec<ClassSummary>,
}

/// The batch report of a traced forward over several images with their class `labels`
/// (`opts.axes` is used; the other options concern one image).
pub fn batch_report(
    params: &Params,
    cfg: &CrateConfig,
    trace: &Trace,
    layer: usize,
    head: usize,
    labels: &[usize],
    opts: &SubspaceOptions,
) -> Result<BatchReport> {
    let dims = Dims::of(cfg, trace, layer, head)?;
    let (b, n, d, dh) = (dims.images, dims.tokens, dims.dim, dims.head_dim);
    if labels.len() != b {
        return Err(Error::Input(format!(
            "{} labels for a batch of {b} images",
            labels.len()
        )));
    }
    let lt = &trace.layers[layer];
    let w = layer_weights(params, cfg, layer)?;
    let mut sets = [Vec::new(), Vec::new(), Vec::new()];
    for i in 0..b {
        let next = next_projection(lt, &w, &dims, i);
        sets[0].extend(head_columns(
            dims.image(&lt.proj_in.data, i),
            n,
            d,
            dh,
            head,
        ));
        sets[1].extend(head_columns(
            dims.image(&lt.proj_half.data, i),
            n,
            d,
            dh,
            head,
        ));
        sets[2].extend(head_columns(&next, n, d, dh, head));
    }
    let scatter = scatter(&sets[0], &sets[1], &sets[2], b * n, dh, opts.axes)?;

    let rates = |data: &[f32]| -> Vec<Vec<f64>> {
        (0..b)
            .map(|i| head_rates(dims.image(data, i), n, d, dims.heads))
            .collect()
    };

    let mut groups: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for (i, &c) in labels.iter().enumerate() {
        groups.entry(c).or_default().push(i);
    }
    let classes = groups
        .into_iter()
        .map(|(class, images)| {
            let pooled = |data: &[f32]| -> Vec<f32> {
                images
                    .iter()
                    .flat_map(|&i| dims.image(data, i).iter().copied())
                    .collect()
            };
            let rows = images.len() * n;
            let spec = |data: &[f32]| {
                let x: Vec<f64> = pooled(data).iter().map(|&v| v as f64).collect();
                spectrum(&x, rows, d)
            };
            let mut spectra: Vec<Spectrum> = trace.layers.iter().map(|l| spec(&l.z.data)).collect();
            if let Some(last) = trace.layers.last() {
                spectra.push(spec(&last.zout.data));
            }
            ClassSummary {
                class,
                usage: atom_usage(&pooled(&lt.zout.data), d),
                images,
                spectra,
            }
        })
        .collect();

    Ok(BatchReport {
        layer,
        head,
        images: b,
        tokens: n,
        labels: labels.to_vec(),
        scatter,
        rc_in: rates(&lt.proj_in.data),
        rc_out: rates(&lt.proj_half.data),
        classes,
    })
}
