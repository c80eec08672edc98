//! The Subspaces view's numbers for one image, computed once and then read for any layer and head.
//!
//! [`subspace_report`](super::subspace_report) recomputes every layer's spectra and rates on each
//! call (about a second natively on CRATE-T), which is fine for the CLI but not for a page that
//! changes layer or head on a click. [`SubspaceBuilder`] computes the same pieces in small steps
//! (the page yields to the browser between them, as the CPU engine does between layers);
//! [`SubspaceCache::report`] then assembles the report of any (layer, head) from them, equal to
//! `subspace_report`'s (a test checks it field by field).

use std::sync::Arc;

use super::codes::{sparse_codes, SparseCodes};
use super::compression::{head_rates, HeadRates};
use super::energy::{head_energy, HeadEnergy};
use super::geometry::{self, Overlap};
use super::scatter::{scatter, Scatter};
use super::spectra::{spectrum, Spectra, Spectrum};
use super::{layer_weights, Dims, SubspaceOptions, SubspaceReport};
use crate::engine::Trace;
use crate::error::{Error, Result};
use crate::model::{CrateConfig, MssaWeights, Params};

/// One layer's norm and U, owned so that a builder outlives the model lock it was made under.
type OwnedLayer = MssaWeights<Vec<f32>>;

/// One layer's pieces for one image.
#[derive(Clone, Debug, Default)]
struct LayerPart {
    /// Per head.
    scatter: Vec<Scatter>,
    energy: Option<HeadEnergy>,
    rates: Option<HeadRates>,
    rc_next: Vec<f64>,
    overlap: Option<Overlap>,
    /// With the options' atom (the most used by default).
    codes: Option<SparseCodes>,
    tokens: Option<Spectrum>,
    /// Per head.
    heads: Vec<Spectrum>,
}

/// What one step computes for a layer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stage {
    /// The token spectrum and the per-head spectra.
    Spectra,
    /// Every head's scatter, the per-head rates before/after and of the next layer's input.
    Scatter,
    /// Which head claims which token, the subspace overlap (weights only), the sparse codes.
    Geometry,
}

const STAGES: [Stage; 3] = [Stage::Spectra, Stage::Scatter, Stage::Geometry];

/// Computes a [`SubspaceCache`] step by step: [`Self::steps`] steps, each one stage of one layer
/// (spectra, scatter and rates, geometry), then the last layer's output spectrum.
pub struct SubspaceBuilder {
    trace: Arc<Trace>,
    weights: Vec<OwnedLayer>,
    dims: Dims,
    opts: SubspaceOptions,
    parts: Vec<LayerPart>,
    last: Option<Spectrum>,
    next: usize,
}

impl SubspaceBuilder {
    /// Checks the trace against the model and copies each layer's norm and U.
    pub fn new(
        params: &Params,
        cfg: &CrateConfig,
        trace: Arc<Trace>,
        opts: SubspaceOptions,
    ) -> Result<Self> {
        let dims = Dims::of(cfg, &trace, 0, 0)?;
        if opts.image >= dims.images {
            return Err(Error::Input(format!(
                "image {} out of range (the trace holds {})",
                opts.image, dims.images
            )));
        }
        let weights = (0..cfg.depth)
            .map(|l| {
                let w = layer_weights(params, cfg, l)?;
                Ok(MssaWeights {
                    norm_w: w.norm_w.to_vec(),
                    norm_b: w.norm_b.to_vec(),
                    qkv: w.qkv.to_vec(),
                    out_w: Vec::new(),
                    out_b: Vec::new(),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            parts: vec![LayerPart::default(); dims.depth],
            trace,
            weights,
            dims,
            opts,
            last: None,
            next: 0,
        })
    }

    /// How many [`Self::step`] calls the cache takes.
    pub fn steps(&self) -> usize {
        self.dims.depth * STAGES.len() + 1
    }

    /// Steps taken so far.
    pub fn done_steps(&self) -> usize {
        self.next
    }

    pub fn done(&self) -> bool {
        self.next >= self.steps()
    }

    /// Computes the next piece.
    pub fn step(&mut self) -> Result<()> {
        if self.done() {
            return Ok(());
        }
        let (dims, b) = (self.dims, self.opts.image);
        let (n, d, heads, dh) = (dims.tokens, dims.dim, dims.heads, dims.head_dim);
        let f64s = |x: &[f32]| x.iter().map(|&v| v as f64).collect::<Vec<f64>>();
        if self.next == dims.depth * STAGES.len() {
            // The last ISTA output's spectrum closes the token spectra (L + 1 entries).
            let last = self.trace.layers.last().ok_or_else(|| {
                Error::Input("the subspace analysis needs a traced forward".into())
            })?;
            self.last = Some(spectrum(&f64s(dims.image(&last.zout.data, b)), n, d));
            self.next += 1;
            return Ok(());
        }
        let (layer, stage) = (self.next / STAGES.len(), STAGES[self.next % STAGES.len()]);
        let lt = &self.trace.layers[layer];
        let w = &self.weights[layer];
        let part = &mut self.parts[layer];
        let w_in = dims.image(&lt.proj_in.data, b);
        match stage {
            Stage::Spectra => {
                part.tokens = Some(spectrum(&f64s(dims.image(&lt.z.data, b)), n, d));
                part.heads = (0..heads)
                    .map(|k| spectrum(&geometry::head_columns(w_in, n, d, dh, k), n, dh))
                    .collect();
            }
            Stage::Scatter => {
                let w_half = dims.image(&lt.proj_half.data, b);
                let a = geometry::layer_norm(dims.image(&lt.zout.data, b), d, &w.norm_w, &w.norm_b);
                let w_next = geometry::project(&a, n, d, &w.qkv);
                part.scatter = (0..heads)
                    .map(|k| {
                        scatter(
                            &geometry::head_columns(w_in, n, d, dh, k),
                            &geometry::head_columns(w_half, n, d, dh, k),
                            &geometry::head_columns(&w_next, n, d, dh, k),
                            n,
                            dh,
                            self.opts.axes,
                        )
                    })
                    .collect::<Result<Vec<_>>>()?;
                part.rates = Some(HeadRates {
                    rc_in: head_rates(w_in, n, d, heads),
                    rc_out: head_rates(w_half, n, d, heads),
                });
                // R^c is defined on what an engine hands over, f32 projections.
                let w_next32: Vec<f32> = w_next.iter().map(|&v| v as f32).collect();
                part.rc_next = head_rates(&w_next32, n, d, heads);
            }
            Stage::Geometry => {
                let a_in = geometry::layer_norm(dims.image(&lt.z.data, b), d, &w.norm_w, &w.norm_b);
                let q = geometry::orthonormal_bases(&w.qkv, d, heads);
                part.energy = Some(head_energy(w_in, &a_in, &q, n, d, heads));
                part.overlap = Some(geometry::overlap(&w.qkv, d, heads));
                part.codes = Some(sparse_codes(
                    dims.image(&lt.zout.data, b),
                    n,
                    d,
                    &self.opts.histogram,
                    self.opts.atom,
                )?);
            }
        }
        self.next += 1;
        Ok(())
    }

    /// The cache, once every step has run (the remaining ones run now).
    pub fn finish(mut self) -> Result<SubspaceCache> {
        while !self.done() {
            self.step()?;
        }
        let missing = || Error::Input("the subspace cache is incomplete".into());
        let layers = self
            .parts
            .into_iter()
            .map(|p| {
                Ok(CachedLayer {
                    energy: p.energy.ok_or_else(missing)?,
                    rates: p.rates.ok_or_else(missing)?,
                    overlap: p.overlap.ok_or_else(missing)?,
                    codes: p.codes.ok_or_else(missing)?,
                    tokens: p.tokens.ok_or_else(missing)?,
                    scatter: p.scatter,
                    rc_next: p.rc_next,
                    heads: p.heads,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(SubspaceCache {
            trace: self.trace,
            dims: self.dims,
            opts: self.opts,
            layers,
            last: self.last.ok_or_else(missing)?,
        })
    }
}

#[derive(Clone, Debug)]
struct CachedLayer {
    scatter: Vec<Scatter>,
    energy: HeadEnergy,
    rates: HeadRates,
    rc_next: Vec<f64>,
    overlap: Overlap,
    codes: SparseCodes,
    tokens: Spectrum,
    heads: Vec<Spectrum>,
}

/// Every layer's and head's pieces of one image's Subspaces report.
#[derive(Clone, Debug)]
pub struct SubspaceCache {
    trace: Arc<Trace>,
    dims: Dims,
    opts: SubspaceOptions,
    layers: Vec<CachedLayer>,
    last: Spectrum,
}

impl SubspaceCache {
    /// Computes every piece now (the CLI and tests; the page steps a [`SubspaceBuilder`]).
    pub fn new(
        params: &Params,
        cfg: &CrateConfig,
        trace: Arc<Trace>,
        opts: SubspaceOptions,
    ) -> Result<Self> {
        SubspaceBuilder::new(params, cfg, trace, opts)?.finish()
    }

    pub fn depth(&self) -> usize {
        self.dims.depth
    }

    pub fn heads(&self) -> usize {
        self.dims.heads
    }

    /// Per layer, per-head R^c before and after the MSSA step.
    pub fn compression(&self) -> Vec<HeadRates> {
        self.layers.iter().map(|l| l.rates.clone()).collect()
    }

    /// The report of one layer and head, as [`super::subspace_report`] computes it; `atom`
    /// overrides the options' atom for the activation map (`None`: the options').
    pub fn report(&self, layer: usize, head: usize, atom: Option<usize>) -> Result<SubspaceReport> {
        let dims = self.dims;
        let part = self.layers.get(layer).ok_or_else(|| {
            Error::Input(format!(
                "layer {layer} out of range (the model has {})",
                dims.depth
            ))
        })?;
        let scatter = part.scatter.get(head).cloned().ok_or_else(|| {
            Error::Input(format!(
                "head {head} out of range (the model has {})",
                dims.heads
            ))
        })?;
        let b = self.opts.image;
        let mut tokens: Vec<Spectrum> = self.layers.iter().map(|l| l.tokens.clone()).collect();
        tokens.push(self.last.clone());
        Ok(SubspaceReport {
            image: b,
            layer,
            head,
            heads: dims.heads,
            head_dim: dims.head_dim,
            tokens: dims.tokens,
            scatter,
            energy: part.energy.clone(),
            compression: self.compression(),
            rc_next: part.rc_next.clone(),
            overlap: part.overlap.clone(),
            // Another atom's map needs the codes again (one pass over the layer's output).
            codes: match atom {
                Some(a) if a != part.codes.atom => sparse_codes(
                    dims.image(&self.trace.layers[layer].zout.data, b),
                    dims.tokens,
                    dims.dim,
                    &self.opts.histogram,
                    Some(a),
                )?,
                _ => part.codes.clone(),
            },
            spectra: Spectra {
                tokens,
                heads: self.layers.iter().map(|l| l.heads.clone()).collect(),
            },
        })
    }
}
