//! The CPU reference engine: plain f32 Rust, readable first, the oracle every other engine is
//! tested against, and fast enough to be the page's fallback where WebGPU is missing.
//!
//! One file per op, each the twin of a WGSL kernel: [`embed`], [`mssa`], [`ista`], [`head`],
//! with [`layernorm`], [`gemm`] and [`interp`] underneath. Linear maps run on the whole batch as
//! one (B*N, d) matrix; attention runs per (image, head), in parallel natively.

pub mod embed;
pub mod gemm;
pub mod head;
pub mod interp;
pub mod ista;
pub mod layernorm;
pub mod mssa;
pub mod par;
pub mod vecops;

use std::collections::HashMap;
use std::sync::OnceLock;

use crate::analysis::{coding_rate, sparsity, LayerStats};
use crate::engine::{Engine, ForwardOptions, ForwardOutput, LayerTrace, Trace};
use crate::error::{Error, Result};
use crate::model::{Dims, Model, Weights};
use crate::tensor::Tensor;

pub struct CpuEngine {
    model: Model,
    /// Position embeddings per patch grid, interpolated once per input size.
    pos_cache: HashMap<(usize, usize), Vec<f32>>,
    /// Each layer's ISTA operator `D - D^T D` ([`ista::operator`]), made when the layer first
    /// runs: later forwards pay one product for the ISTA step instead of two.
    ista_ops: Vec<OnceLock<Vec<f32>>>,
}

impl CpuEngine {
    pub fn new(model: Model) -> Self {
        let depth = model.config.depth;
        Self {
            model,
            pos_cache: HashMap::new(),
            ista_ops: (0..depth).map(|_| OnceLock::new()).collect(),
        }
    }

    pub fn model(&self) -> &Model {
        &self.model
    }

    /// Checks an input batch against the model and returns (B, H, W).
    pub fn check_input(model: &Model, images: &Tensor) -> Result<(usize, usize, usize)> {
        let cfg = &model.config;
        let [b, c, h, w] = images.shape[..] else {
            return Err(Error::Input(format!(
                "expected images of shape (B, C, H, W), got {}",
                images.shape_str()
            )));
        };
        if c != cfg.channels {
            return Err(Error::Input(format!(
                "images have {c} channels, the model takes {}",
                cfg.channels
            )));
        }
        if b == 0 || h == 0 || w == 0 || h % cfg.patch != 0 || w % cfg.patch != 0 {
            return Err(Error::Input(format!(
                "image size {h}x{w} (batch {b}) is not a positive multiple of the patch size {}",
                cfg.patch
            )));
        }
        // The attention probabilities are the largest buffer: refuse sizes that cannot fit
        // instead of failing to allocate.
        let nt = cfg.tokens_at([h, w]);
        let attn_bytes = (b as u128) * (cfg.heads as u128) * (nt as u128).pow(2) * 4;
        if attn_bytes > MAX_ATTENTION_BYTES {
            return Err(Error::Input(format!(
                "input {h}x{w} in a batch of {b} gives {nt} tokens per image; its attention maps would need {} MiB, more than the {} MiB limit: use a smaller size or batch",
                attn_bytes >> 20,
                MAX_ATTENTION_BYTES >> 20
            )));
        }
        Ok((b, h, w))
    }
}

/// The most memory the attention probabilities of one forward may take.
pub const MAX_ATTENTION_BYTES: u128 = 4 << 30;

impl Engine for CpuEngine {
    fn name(&self) -> &str {
        "cpu"
    }

    fn forward(&mut self, images: &Tensor, opts: ForwardOptions) -> Result<ForwardOutput> {
        par::in_pool(|| self.start(images, opts)?.finish())
    }
}

impl CpuEngine {
    /// Starts a forward pass that runs one layer per [`Forward::step`], so that a caller on a
    /// single thread (the page) can let the browser breathe between layers.
    /// [`Engine::forward`] is this run to the end.
    pub fn start(&mut self, images: &Tensor, opts: ForwardOptions) -> Result<Forward<'_>> {
        let (b, h, w) = Self::check_input(&self.model, images)?;
        let cfg = &self.model.config;
        let wt = Weights::view(cfg, &self.model.params)?;
        let p = cfg.patch;
        let (gh, gw) = (h / p, w / p);
        let pos = self
            .pos_cache
            .entry((gh, gw))
            .or_insert_with(|| embed::position_embedding(cfg, wt.embed.pos, gh, gw));
        let dims = Dims::new(cfg, b, gh * gw + 1);
        Ok(Forward {
            z: embed::embed(cfg, &wt.embed, &images.data, [b, h, w], pos),
            model: &self.model,
            ista_ops: &self.ista_ops,
            wt,
            opts,
            dims,
            next: 0,
            a: vec![0.0f32; dims.acts()],
            probs: vec![0.0f32; dims.probs()],
            layers: Vec::new(),
            stats: vec![Vec::new(); if opts.stats { b } else { 0 }],
            cls: Vec::new(),
        })
    }
}

/// A forward pass in progress (see [`CpuEngine::start`]).
pub struct Forward<'a> {
    model: &'a Model,
    ista_ops: &'a [OnceLock<Vec<f32>>],
    wt: Weights<&'a [f32]>,
    opts: ForwardOptions,
    dims: Dims,
    /// The next layer to run.
    next: usize,
    /// The token states entering layer `next` (B·N, d).
    z: Vec<f32>,
    a: Vec<f32>,
    probs: Vec<f32>,
    layers: Vec<LayerTrace>,
    stats: Vec<Vec<LayerStats>>,
    cls: Vec<Tensor>,
}

impl Forward<'_> {
    /// True once every layer has run.
    pub fn done(&self) -> bool {
        self.next >= self.model.config.depth
    }

    /// Runs the next layer: MSSA, then ISTA, recording what the options ask for.
    pub fn step(&mut self) -> Result<()> {
        if self.done() {
            return Ok(());
        }
        let l = self.next;
        let (opts, dims) = (self.opts, self.dims);
        let cfg = &self.model.config;
        let lw = &self.wt.layers[l];
        let (b, nt, d, heads) = (dims.b, dims.nt, dims.d, dims.heads);
        let rows = dims.rows();
        let (z, a, probs) = (&mut self.z, &mut self.a, &mut self.probs);
        let m = &lw.mssa;
        layernorm::layer_norm(z, d, m.norm_w, m.norm_b, a);
        let mut proj = vec![0.0f32; rows * d];
        gemm::linear(a, rows, m.qkv, d, d, None, &mut proj);
        let o = mssa::attention(&proj, b, nt, d, heads, probs);
        let zhalf = mssa::output_projection(z, &o, rows, d, m.out_w, m.out_b);

        let mut y = vec![0.0f32; rows * d];
        let i = &lw.ista;
        layernorm::layer_norm(&zhalf, d, i.norm_w, i.norm_b, &mut y);
        let op = self.ista_ops[l].get_or_init(|| ista::operator(i.dict, d));
        let zout = ista::ista(&y, rows, d, op, cfg.eta, cfg.lambda);

        if opts.cls {
            let mut rows_out = Vec::with_capacity(b * heads * nt);
            for bk in 0..b * heads {
                rows_out.extend_from_slice(&probs[bk * nt * nt..][..nt]);
            }
            self.cls.push(Tensor {
                shape: vec![b, heads, nt],
                data: rows_out,
            });
        }
        // R^c after the MSSA step: the same norm and subspaces applied to Z^{l+1/2}.
        let proj_half = (opts.trace || opts.stats).then(|| {
            layernorm::layer_norm(&zhalf, d, m.norm_w, m.norm_b, a);
            let mut ph = vec![0.0f32; rows * d];
            gemm::linear(a, rows, m.qkv, d, d, None, &mut ph);
            ph
        });
        if let (true, Some(ph)) = (opts.stats, &proj_half) {
            let r = nt * d;
            for (i, s) in self.stats.iter_mut().enumerate() {
                let im = i * r..(i + 1) * r;
                s.push(LayerStats {
                    rc_in: coding_rate(&proj[im.clone()], nt, d, heads),
                    rc_out: coding_rate(&ph[im.clone()], nt, d, heads),
                    sparsity: sparsity(&zout[im]),
                });
            }
        }
        if let (true, Some(proj_half)) = (opts.trace, proj_half) {
            let t = |data: Vec<f32>| Tensor {
                shape: vec![b, nt, d],
                data,
            };
            self.layers.push(LayerTrace {
                z: t(std::mem::take(z)),
                zhalf: t(zhalf),
                zout: t(zout.clone()),
                proj_in: t(proj),
                proj_half: t(proj_half),
                attn: opts.attention.then(|| Tensor {
                    shape: vec![b, heads, nt, nt],
                    data: probs.clone(),
                }),
            });
        }
        *z = zout;
        self.next += 1;
        Ok(())
    }

    /// Runs the layers left, then the head.
    pub fn finish(mut self) -> Result<ForwardOutput> {
        while !self.done() {
            self.step()?;
        }
        let Dims { b, nt, d, .. } = self.dims;
        let logits = head::head(&self.wt.head, &self.z, b, nt, d);
        let opts = self.opts;
        Ok(ForwardOutput {
            logits,
            trace: opts.trace.then_some(Trace {
                layers: self.layers,
            }),
            stats: opts.stats.then_some(self.stats),
            cls: opts.cls.then_some(self.cls),
        })
    }
}
