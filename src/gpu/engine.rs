//! `GpuEngine`: the CRATE forward on wgpu. Weights are uploaded once; a forward records every
//! kernel (and the copies of what is read back) through one [`Recorder`], which encodes them into
//! one command encoder and submits once; only then are the logits (and the trace, when asked
//! for) mapped and read.

use std::collections::HashMap;

use wgpu::util::DeviceExt;

use super::head::HeadBuffers;
use super::layer::{
    record_embed, record_ista_operator, record_layer, record_proj_half, EmbedBuffers, LayerBuffers,
};
use super::{Gpu, GpuContext, READBACK};
use crate::cpu::CpuEngine;
use crate::engine::{ForwardOptions, ForwardOutput, LayerTrace, Trace};
use crate::error::{Error, Result};
use crate::model::{Dims, Model, Weights};
use crate::tensor::Tensor;

pub struct GpuEngine {
    gpu: Gpu,
    model: Model,
    weights: Weights<wgpu::Buffer>,
    /// Position embeddings per patch grid, interpolated on the CPU once per input size.
    pos: HashMap<(usize, usize), wgpu::Buffer>,
    /// Each layer's ISTA operator `D - D^T D`, computed on the device once (see
    /// `layer::record_ista_fused`).
    ista_ops: Vec<wgpu::Buffer>,
}

/// A tensor to read back: the device buffer, its staging copy and its shape.
struct Out {
    staging: wgpu::Buffer,
    shape: Vec<usize>,
}

impl GpuEngine {
    /// Uploads the model's weights to the context's device.
    pub fn new(ctx: GpuContext, model: Model) -> Result<Self> {
        let mut gpu = Gpu::new(ctx);
        let host = Weights::view(&model.config, &model.params)?;
        let weights = Weights::spec(&model.config).zip(host).map(|(slot, data)| {
            gpu.ctx
                .device
                .create_buffer_init(&wgpu::util::BufferInitDescriptor {
                    label: Some(&slot.key),
                    contents: bytemuck::cast_slice(data),
                    usage: wgpu::BufferUsages::STORAGE,
                })
        });
        let ista_ops = ista_operators(&mut gpu, &weights, &model)?;
        Ok(Self {
            gpu,
            model,
            weights,
            pos: HashMap::new(),
            ista_ops,
        })
    }

    /// Opens the default adapter (see [`GpuContext::new`]) and uploads the model.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn new_blocking(model: Model) -> Result<Self> {
        Self::new(GpuContext::new_blocking()?, model)
    }

    pub fn model(&self) -> &Model {
        &self.model
    }

    pub fn context(&self) -> &GpuContext {
        &self.gpu.ctx
    }

    /// Whether the kernels written for CPU-emulated adapters are used (on by default on
    /// lavapipe/SwiftShader); tests turn it off to cover the tiled kernels there too.
    pub fn set_cpu_adapter_kernels(&mut self, on: bool) {
        self.gpu.reg_kernels = on;
    }

    /// With the kernels for CPU-emulated adapters: the rows of the matmul's block per
    /// invocation, 8, 16 or 32 (comparisons, the page's `?bench=…&block=8`); by default they
    /// are picked by shape ([`crate::gpu::matmul::auto_block`]).
    pub fn set_matmul_block(&mut self, rows: u32) {
        assert!(matches!(rows, 8 | 16 | 32), "matmul block of {rows} rows");
        self.gpu.reg_block = Some(rows);
    }

    /// With the kernels for CPU-emulated adapters: their subgroup forms where the adapter has
    /// subgroups (true, the default; see [`crate::gpu::Gpu::subgroups`]) or the plain ones
    /// (comparisons, the page's `?bench=…&subgroups=0`).
    pub fn set_subgroup_kernels(&mut self, on: bool) {
        self.gpu.subgroups = if on {
            crate::gpu::Gpu::subgroup_kernels(&self.gpu.ctx)
        } else {
            None
        };
    }

    /// The subgroup size the subgroup kernels run with (None: the plain kernels).
    pub fn subgroup_kernels(&self) -> Option<u32> {
        self.gpu.subgroups
    }

    /// Times every kernel of the following forwards with timestamp queries, where the adapter
    /// has them (`context().features.timestamp_query`); read them with
    /// [`GpuEngine::take_kernel_times`] after each forward.
    pub fn set_profiling(&mut self, on: bool) {
        self.gpu.profiling = on;
    }

    /// Per-dispatch (kernel label, ms) of the last profiled forward; `None` when it was not
    /// profiled.
    pub async fn take_kernel_times(&mut self) -> Result<Option<Vec<(String, f64)>>> {
        self.gpu.take_kernel_times().await
    }

    /// Pipelines compiled so far (on a software adapter, compiling them is most of the first
    /// forward's time).
    pub fn pipelines(&self) -> usize {
        self.gpu.cache.len()
    }

    /// Buffers the pool has created so far (a repeated forward of the same shape adds none).
    pub fn buffers_created(&self) -> usize {
        self.gpu.pool.created()
    }

    /// The forward pass, awaitable on the web (natively `Engine::forward` blocks on it).
    pub async fn forward_async(
        &mut self,
        images: &Tensor,
        opts: ForwardOptions,
    ) -> Result<ForwardOutput> {
        self.gpu.ctx.check_alive()?;
        let (b, h, w) = CpuEngine::check_input(&self.model, images)?;
        let cfg = self.model.config.clone();
        let p = cfg.patch;
        let (gh, gw) = (h / p, w / p);
        if !self.pos.contains_key(&(gh, gw)) {
            let pos_w = Weights::view(&cfg, &self.model.params)?.embed.pos;
            let pos = crate::cpu::embed::position_embedding(&cfg, pos_w, gh, gw);
            let buf = self
                .gpu
                .ctx
                .device
                .create_buffer_init(&wgpu::util::BufferInitDescriptor {
                    label: Some("position embeddings at this grid"),
                    contents: bytemuck::cast_slice(&pos),
                    usage: wgpu::BufferUsages::STORAGE,
                });
            self.pos.insert((gh, gw), buf);
        }
        let pos = self.pos[&(gh, gw)].clone();
        let (d, heads, pl) = (cfg.dim, cfg.heads, cfg.patch_len());
        let n = gh * gw;
        let nt = n + 1;
        let rows = b * nt;
        let trace = opts.trace;
        let stats = opts.stats;
        let dh = d / heads;
        let tri = super::gram::packed_len(dh);
        // Fail clearly, before recording, when one tensor would exceed a binding.
        let biggest = [
            b * n * pl,
            rows * d,
            if trace && opts.attention {
                b * heads * nt * nt
            } else {
                0
            },
            // The CPU-adapter MSSA keeps its probabilities in a scratch buffer, filled a group
            // of heads at a time when all of them exceed a binding: one head must fit.
            if self.gpu.reg_kernels || nt > super::mssa::MAX_TOKENS {
                nt * nt.next_multiple_of(4)
            } else {
                0
            },
        ]
        .into_iter()
        .max()
        .unwrap_or(0) as u64
            * 4;
        if biggest > self.gpu.ctx.max_binding() {
            return Err(Error::Gpu(format!(
                "batch of {b} at {h}x{w} needs a {biggest}-byte buffer, more than the adapter's \
                 {} allowed per binding; use a smaller batch",
                self.gpu.ctx.max_binding()
            )));
        }

        // Every pooled buffer this forward takes, handed back after the read-back.
        let mut held: Vec<wgpu::Buffer> = Vec::new();
        let gpu = &mut self.gpu;
        let mut alloc = |gpu: &mut Gpu, len: usize| {
            let b = gpu.alloc(len);
            held.push(b.clone());
            b
        };
        let img = gpu.upload(&images.data);
        let patches = alloc(gpu, b * n * pl);
        let lnp = alloc(gpu, b * n * pl);
        let e = alloc(gpu, b * n * d);
        let e2 = alloc(gpu, b * n * d);
        let a = alloc(gpu, rows * d);
        let o = alloc(gpu, rows * d);
        let y = alloc(gpu, rows * d);
        let r = alloc(gpu, rows * d);
        let mut z = alloc(gpu, rows * d);
        // Without a trace, two state buffers and one of each intermediate serve every layer.
        let spare = (!trace).then(|| {
            (
                alloc(gpu, rows * d),
                alloc(gpu, rows * d),
                alloc(gpu, rows * d),
                stats.then(|| alloc(gpu, rows * d)),
            )
        });
        // Measures: per layer, the packed Grams of the projections before and after the MSSA
        // step (L, 2, B, K, dh(dh+1)/2) and the non-zero counts of the ISTA output (L, B).
        let stat_bufs = stats.then(|| {
            (
                alloc(gpu, cfg.depth * 2 * b * heads * tri),
                alloc(gpu, cfg.depth * b),
            )
        });
        let cls_buf = opts.cls.then(|| alloc(gpu, cfg.depth * b * heads * nt));
        let mut layer_bufs = Vec::new();
        for _ in 0..if trace { cfg.depth } else { 0 } {
            let probs = opts.attention.then(|| alloc(gpu, b * heads * nt * nt));
            layer_bufs.push((
                alloc(gpu, rows * d),
                alloc(gpu, rows * d),
                alloc(gpu, rows * d),
                alloc(gpu, rows * d),
                probs,
            ));
        }
        let hcls = alloc(gpu, b * d);
        let out1 = cfg.pre_head_dim.unwrap_or(cfg.classes);
        let h1 = alloc(gpu, b * out1);
        let logits_buf = if cfg.pre_head_dim.is_some() {
            alloc(gpu, b * cfg.classes)
        } else {
            h1.clone()
        };
        held.push(img.clone());
        let wt = &self.weights;
        let dims = Dims::new(&cfg, b, nt);

        let mut outs: Vec<Out> = Vec::new();
        let mut staged: Vec<(wgpu::Buffer, wgpu::Buffer, usize)> = Vec::new();
        let mut stage = |gpu: &mut Gpu, src: &wgpu::Buffer, shape: Vec<usize>| {
            let len: usize = shape.iter().product();
            let st = gpu
                .pool
                .acquire(&gpu.ctx.device, (len * 4) as u64, READBACK);
            staged.push((src.clone(), st.clone(), len));
            outs.push(Out { staging: st, shape });
        };

        let mut rec = gpu.recorder();
        let eb = EmbedBuffers {
            img: &img,
            patches: &patches,
            lnp: &lnp,
            e: &e,
            e2: &e2,
            z: &z,
        };
        record_embed(
            &mut rec,
            &wt.embed,
            &pos,
            &eb,
            [cfg.channels, h, w, p],
            dims,
        );

        for (l, lw) in wt.layers.iter().enumerate() {
            let (proj, zhalf, zout, proj_half, probs) = match (&spare, layer_bufs.get(l)) {
                (_, Some((p1, p2, p3, p4, pr))) => (
                    p1.clone(),
                    p2.clone(),
                    p3.clone(),
                    Some(p4.clone()),
                    pr.clone(),
                ),
                (Some((s1, s2, s3, s4)), None) => {
                    (s1.clone(), s2.clone(), s3.clone(), s4.clone(), None)
                }
                (None, None) => unreachable!("trace buffers allocated per layer"),
            };
            let lb = LayerBuffers {
                z: &z,
                a: &a,
                proj: &proj,
                o: &o,
                zhalf: &zhalf,
                y: &y,
                r: &r,
                ista_op: Some(&self.ista_ops[l]),
                zout: &zout,
                probs: probs.as_ref(),
                cls: cls_buf.as_ref().map(|c| (c, l * b * heads * nt)),
            };
            record_layer(&mut rec, lw, &lb, dims, [cfg.eta, cfg.lambda])?;
            if let Some(ph) = &proj_half {
                record_proj_half(&mut rec, lw, &zhalf, [&a, ph], dims);
            }
            if let (Some((grams, counts)), Some(ph)) = (&stat_bufs, &proj_half) {
                let per = b * heads * tri;
                super::gram::grams(&mut rec, &proj, grams, 2 * l * per, dims)?;
                super::gram::grams(&mut rec, ph, grams, (2 * l + 1) * per, dims)?;
                super::count::nonzero(&mut rec, &zout, counts, l * b, b, nt * d);
            }
            if let (true, Some(ph)) = (trace, &proj_half) {
                let sh = vec![b, nt, d];
                for src in [&z, &zhalf, &zout, &proj, ph] {
                    stage(rec.gpu, src, sh.clone());
                }
                if let Some(pr) = &probs {
                    stage(rec.gpu, pr, vec![b, heads, nt, nt]);
                }
            }
            z = zout;
        }
        if let Some((grams, counts)) = &stat_bufs {
            stage(rec.gpu, grams, vec![cfg.depth, 2, b, heads, tri]);
            stage(rec.gpu, counts, vec![cfg.depth, b]);
        }
        if let Some(c) = &cls_buf {
            stage(rec.gpu, c, vec![cfg.depth, b, heads, nt]);
        }

        let hb = HeadBuffers {
            cls: &hcls,
            h1: &h1,
            logits: &logits_buf,
            out1,
            classes: cfg.classes,
        };
        super::head::head(&mut rec, &wt.head, &z, hb, dims);
        stage(rec.gpu, &logits_buf, vec![b, cfg.classes]);
        for (src, st, len) in &staged {
            rec.copy(src, st, (*len * 4) as u64);
        }
        let ubuf = rec.finish();

        let reads: Vec<(&wgpu::Buffer, usize)> = outs
            .iter()
            .map(|o| (&o.staging, o.shape.iter().product()))
            .collect();
        let result = self.gpu.ctx.read_back(&reads).await;
        // Hand everything back to the pool, whether the read-back worked or not.
        self.gpu.pool.release(held);
        self.gpu
            .pool
            .release(outs.iter().map(|o| o.staging.clone()));
        self.gpu.pool.release(ubuf);
        let mut data = result?.into_iter();
        let mut tensors = outs
            .iter()
            .map(|o| Tensor {
                shape: o.shape.clone(),
                data: data.next().unwrap_or_default(),
            })
            .collect::<Vec<_>>();
        let logits = tensors.pop().expect("logits staged last");
        let cls = cls_buf.is_some().then(|| {
            let all = tensors.pop().expect("cls rows staged before the logits");
            all.data
                .chunks_exact(b * heads * nt)
                .map(|c| Tensor {
                    shape: vec![b, heads, nt],
                    data: c.to_vec(),
                })
                .collect::<Vec<_>>()
        });
        let layer_stats = stat_bufs.is_some().then(|| {
            let counts = tensors.pop().expect("counts staged");
            let grams = tensors.pop().expect("grams staged");
            let per = b * heads * tri;
            let rc = |l: usize, half: usize, i: usize| {
                let img = &grams.data[(2 * l + half) * per + i * heads * tri..][..heads * tri];
                let full: Vec<f64> = img
                    .chunks_exact(tri)
                    .flat_map(|g| super::gram::unpack(g, dh))
                    .collect();
                crate::analysis::coding_rate::coding_rate_from_grams(&full, nt, dh)
            };
            (0..b)
                .map(|i| {
                    (0..cfg.depth)
                        .map(|l| crate::analysis::LayerStats {
                            rc_in: rc(l, 0, i),
                            rc_out: rc(l, 1, i),
                            sparsity: counts.data[l * b + i] as f64 / (nt * d) as f64,
                        })
                        .collect()
                })
                .collect()
        });
        let trace = trace.then(|| {
            let mut it = tensors.into_iter();
            let mut layers = Vec::new();
            for _ in 0..cfg.depth {
                let mut next = || it.next().expect("five tensors per layer");
                let (z, zhalf, zout, proj_in, proj_half) = (next(), next(), next(), next(), next());
                let attn = opts.attention.then(&mut next);
                layers.push(LayerTrace {
                    z,
                    zhalf,
                    zout,
                    proj_in,
                    proj_half,
                    attn,
                });
            }
            Trace { layers }
        });
        Ok(ForwardOutput {
            logits,
            trace,
            stats: layer_stats,
            cls,
        })
    }
}

/// Native only: `Engine::forward` is synchronous and the web must not block; the page awaits
/// [`GpuEngine::forward_async`] instead.
#[cfg(not(target_arch = "wasm32"))]
impl crate::engine::Engine for GpuEngine {
    fn name(&self) -> &str {
        "gpu"
    }

    fn forward(&mut self, images: &Tensor, opts: ForwardOptions) -> Result<ForwardOutput> {
        pollster::block_on(self.forward_async(images, opts))
    }
}

/// Each layer's `D - D^T D` on the device, in one submission of its own (so that every forward
/// records the same work). The transposes go up for this submission only.
fn ista_operators(
    gpu: &mut Gpu,
    weights: &Weights<wgpu::Buffer>,
    model: &Model,
) -> Result<Vec<wgpu::Buffer>> {
    let d = model.config.dim;
    let host = Weights::view(&model.config, &model.params)?;
    let device = &gpu.ctx.device;
    let dts: Vec<wgpu::Buffer> = host
        .layers
        .iter()
        .map(|l| {
            device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
                label: Some("a dictionary's transpose"),
                contents: bytemuck::cast_slice(&crate::tensor::transpose(l.ista.dict, d, d)),
                usage: wgpu::BufferUsages::STORAGE,
            })
        })
        .collect();
    let ops: Vec<wgpu::Buffer> = (0..dts.len())
        .map(|_| {
            device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("ISTA operator D - D^T D"),
                size: (d * d * 4) as u64,
                usage: wgpu::BufferUsages::STORAGE,
                mapped_at_creation: false,
            })
        })
        .collect();
    let mut rec = gpu.recorder();
    for ((lw, dt), op) in weights.layers.iter().zip(&dts).zip(&ops) {
        record_ista_operator(&mut rec, [&lw.ista.dict, dt, op], d);
    }
    // wgpu keeps the transposes alive until the submission has run.
    let ubuf = rec.finish();
    gpu.pool.release(ubuf);
    Ok(ops)
}
