//! The wgpu engine: a device context, a pipeline cache and buffer pool, one Rust module per WGSL
//! kernel, and [`GpuEngine`], which records a whole forward into one command encoder.
//!
//! The CRATE sequence itself is written once, in [`layer`] (`record_embed`, `record_layer`) and
//! [`head`]: the inference engine and the training step ([`train`]) both call it, on the typed
//! weights ([`crate::model::Weights`]`<wgpu::Buffer>`) and a [`crate::model::Dims`].
//!
//! Kernels are recorded through a [`Recorder`]: each wrapper adds a step (a dispatch with its
//! buffers and uniform parameters, or a copy); [`Recorder::finish`] packs every step's parameters
//! into one uniform buffer, encodes all steps into one encoder and submits it once.

pub mod backward;
pub mod context;
pub mod count;
pub mod embed;
pub mod engine;
pub mod gram;
pub mod head;
pub mod layer;
pub mod layernorm;
pub mod matmul;
pub mod mssa;
pub mod pool;
pub mod profile;
#[cfg(test)]
mod shaders;
pub mod train;

pub use context::{GpuContext, GpuFeatures};
pub use engine::GpuEngine;
pub use pool::{Bind, BufferPool, Kernel, PipelineCache};

use wgpu::BufferUsages as U;

/// Usage of activation buffers: read and written by kernels, copied out for read-back, written
/// from the CPU for inputs.
pub const STORAGE: U = U::STORAGE.union(U::COPY_SRC).union(U::COPY_DST);
/// Usage of read-back staging buffers.
pub const READBACK: U = U::MAP_READ.union(U::COPY_DST);

/// Everything the kernels need besides their inputs: the device, compiled pipelines, pooled
/// buffers and two small placeholders for bindings a specialisation does not use.
pub struct Gpu {
    pub ctx: GpuContext,
    pub cache: PipelineCache,
    pub pool: BufferPool,
    dummy_read: wgpu::Buffer,
    dummy_rw: wgpu::Buffer,
    /// A second one: WebGPU forbids binding one buffer to two writable bindings of a dispatch.
    dummy_rw2: wgpu::Buffer,
    /// Time every dispatch with timestamp queries (only where the adapter has them).
    pub profiling: bool,
    /// Use the kernel variants written for CPU-emulated adapters (no workgroup memory or
    /// barriers); chosen by [`Gpu::cpu_adapter_kernels`], tests set it to cover both.
    pub reg_kernels: bool,
    /// With `reg_kernels`, the rows of the matmul's block per invocation (8 columns wide): 8,
    /// 16 or 32; `None` (the default) picks by shape ([`crate::gpu::matmul::auto_block`]).
    /// Natively `WHITEBOX_MATMUL_BLOCK` sets it (comparisons, tests).
    pub reg_block: Option<u32>,
    /// With `reg_kernels`: the subgroup size (8) of this adapter when the subgroup forms of
    /// the 16×8 and 32×8 matmuls (`matmul_sg.wgsl`) and of the weight-gradient product
    /// (`matmul_backward_sg.wgsl`) run on it; chosen by [`Gpu::subgroup_kernels`], tests set
    /// it to cover both forms.
    pub subgroups: Option<u32>,
    profile_pending: Option<profile::Pending>,
}

impl Gpu {
    pub fn new(ctx: GpuContext) -> Self {
        let mk = |label| {
            ctx.device.create_buffer(&wgpu::BufferDescriptor {
                label: Some(label),
                size: 16,
                usage: U::STORAGE,
                mapped_at_creation: false,
            })
        };
        let (dummy_read, dummy_rw, dummy_rw2) = (mk("dummy_read"), mk("dummy_rw"), mk("dummy_rw2"));
        let reg_kernels = Self::cpu_adapter_kernels(&ctx);
        let subgroups = Self::subgroup_kernels(&ctx);
        Self {
            ctx,
            cache: PipelineCache::default(),
            pool: BufferPool::default(),
            dummy_read,
            dummy_rw,
            dummy_rw2,
            profiling: false,
            reg_kernels,
            reg_block: {
                #[cfg(not(target_arch = "wasm32"))]
                let rows = std::env::var("WHITEBOX_MATMUL_BLOCK")
                    .ok()
                    .and_then(|v| v.parse().ok())
                    .filter(|r| matches!(r, 8 | 16 | 32));
                #[cfg(target_arch = "wasm32")]
                let rows = None;
                rows
            },
            subgroups,
            profile_pending: None,
        }
    }

    /// A storage buffer holding `data`, from the pool.
    pub fn upload(&mut self, data: &[f32]) -> wgpu::Buffer {
        let b = self.alloc(data.len());
        self.ctx
            .queue
            .write_buffer(&b, 0, bytemuck::cast_slice(data));
        b
    }

    /// A pooled storage buffer of `len` f32.
    pub fn alloc(&mut self, len: usize) -> wgpu::Buffer {
        self.pool
            .acquire(&self.ctx.device, (len * 4) as u64, STORAGE)
    }

    /// Records the steps `f` adds, copies `outs` (buffer, f32 count) to staging buffers in the
    /// same submission, submits once and reads them back. For tests and one-off kernels.
    pub async fn run(
        &mut self,
        f: impl FnOnce(&mut Recorder) -> crate::Result<()>,
        outs: &[(&wgpu::Buffer, usize)],
    ) -> crate::Result<Vec<Vec<f32>>> {
        let mut rec = self.recorder();
        f(&mut rec)?;
        let mut staging = Vec::new();
        for (src, len) in outs {
            let st = rec
                .gpu
                .pool
                .acquire(&rec.gpu.ctx.device, (*len * 4) as u64, READBACK);
            rec.copy(src, &st, (*len * 4) as u64);
            staging.push((st, *len));
        }
        let ubuf = rec.finish();
        let reads: Vec<_> = staging.iter().map(|(b, l)| (b, *l)).collect();
        let out = self.ctx.read_back(&reads).await;
        self.pool.release(staging.into_iter().map(|(b, _)| b));
        self.pool.release(ubuf);
        out
    }

    /// [`Gpu::run`], blocking (native only).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn run_blocking(
        &mut self,
        f: impl FnOnce(&mut Recorder) -> crate::Result<()>,
        outs: &[(&wgpu::Buffer, usize)],
    ) -> crate::Result<Vec<Vec<f32>>> {
        pollster::block_on(self.run(f, outs))
    }

    /// Per-dispatch times (label, ms) of the last profiled submission, once it has completed;
    /// `None` when nothing was profiled (profiling off, or no timestamp queries).
    pub async fn take_kernel_times(&mut self) -> crate::Result<Option<Vec<(String, f64)>>> {
        let Some(p) = self.profile_pending.take() else {
            return Ok(None);
        };
        let out = profile::read(&self.ctx, &p).await;
        self.pool.release([p.staging]);
        out.map(Some)
    }

    /// Whether to use the kernels written for CPU-emulated adapters (see `matmul.wgsl`'s
    /// `main_reg`): `WHITEBOX_KERNELS=reg|tiled` forces a choice natively; otherwise CPU
    /// adapters (lavapipe, SwiftShader, a browser's fallback adapter) get them.
    pub fn cpu_adapter_kernels(ctx: &GpuContext) -> bool {
        #[cfg(not(target_arch = "wasm32"))]
        if let Ok(v) = std::env::var("WHITEBOX_KERNELS") {
            return v == "reg";
        }
        let name = ctx.info.name.to_lowercase();
        ctx.info.device_type == wgpu::DeviceType::Cpu
            || ["llvmpipe", "lavapipe", "swiftshader"]
                .iter()
                .any(|n| name.contains(n))
    }

    /// The subgroup size the subgroup kernels are written for: 8, where the adapter has
    /// subgroups of exactly 8 (lavapipe on 256-bit vectors, where they run the matmul about
    /// twice as fast). The kernels assume a subgroup is eight consecutive invocations, as
    /// lavapipe runs them (the parity tests check it there). SwiftShader's subgroups of 4 were
    /// measured too, through a device asked for `subgroups` by hand (wgpu 30's WebGPU backend
    /// does not map the feature): no faster (1024³: 6.0 against 6.5 GFLOP/s), so they are not
    /// used. Natively `WHITEBOX_SUBGROUPS=0` turns them off (comparisons).
    pub fn subgroup_kernels(ctx: &GpuContext) -> Option<u32> {
        #[cfg(not(target_arch = "wasm32"))]
        if std::env::var("WHITEBOX_SUBGROUPS").is_ok_and(|v| v == "0") {
            return None;
        }
        if !ctx.features.subgroups {
            return None;
        }
        match (ctx.info.subgroup_min_size, ctx.info.subgroup_max_size) {
            (8, 8) => Some(8),
            _ => None,
        }
    }

    pub fn recorder(&mut self) -> Recorder<'_> {
        Recorder {
            gpu: self,
            steps: Vec::new(),
            scratch: Vec::new(),
        }
    }
}

enum Step {
    Dispatch {
        kernel: Kernel,
        bufs: Vec<wgpu::Buffer>,
        params: Vec<u8>,
        groups: [u32; 3],
    },
    Copy {
        src: wgpu::Buffer,
        dst: wgpu::Buffer,
        bytes: u64,
    },
}

/// Collects the steps of one submission.
pub struct Recorder<'a> {
    pub gpu: &'a mut Gpu,
    steps: Vec<Step>,
    /// Pooled temporaries of this submission, by (role, length); handed back to the pool at
    /// [`Recorder::finish`] (later submissions run after this one, so reuse is safe).
    scratch: Vec<(&'static str, usize, wgpu::Buffer)>,
}

impl Recorder<'_> {
    /// Adds a dispatch: `bufs` are bindings 0.. in order, the uniform `params` comes last.
    pub fn dispatch(
        &mut self,
        kernel: Kernel,
        bufs: Vec<wgpu::Buffer>,
        params: &[u8],
        groups: [u32; 3],
    ) {
        if groups.contains(&0) {
            return;
        }
        // WebGPU (unlike native wgpu) rejects a buffer bound twice in one dispatch when either
        // binding is writable: catch it in native tests too.
        for (i, a) in bufs.iter().enumerate() {
            for (j, b) in bufs.iter().enumerate().skip(i + 1) {
                let writable = |k: usize| kernel.binds.get(k) == Some(&Bind::ReadWrite);
                debug_assert!(
                    a != b || !(writable(i) || writable(j)),
                    "{}: buffer bound to bindings {i} and {j}, one of them writable",
                    kernel.label
                );
            }
        }
        self.steps.push(Step::Dispatch {
            kernel,
            bufs,
            params: params.to_vec(),
            groups,
        });
    }

    pub fn copy(&mut self, src: &wgpu::Buffer, dst: &wgpu::Buffer, bytes: u64) {
        self.steps.push(Step::Copy {
            src: src.clone(),
            dst: dst.clone(),
            bytes,
        });
    }

    /// A temporary storage buffer of `len` f32 for this submission; the same one for every
    /// request with the same role and length (the kernels using it run in order), distinct
    /// buffers for different roles.
    pub fn scratch(&mut self, role: &'static str, len: usize) -> wgpu::Buffer {
        if let Some((_, _, b)) = self
            .scratch
            .iter()
            .find(|(r, l, _)| *r == role && *l == len)
        {
            return b.clone();
        }
        let b = self.gpu.alloc(len);
        self.scratch.push((role, len, b.clone()));
        b
    }

    pub fn dummy_read(&self) -> wgpu::Buffer {
        self.gpu.dummy_read.clone()
    }

    pub fn dummy_rw(&self) -> wgpu::Buffer {
        self.gpu.dummy_rw.clone()
    }

    /// A writable placeholder distinct from [`Recorder::dummy_rw`], for a second unused
    /// writable binding of the same dispatch.
    pub fn dummy_rw2(&self) -> wgpu::Buffer {
        self.gpu.dummy_rw2.clone()
    }

    /// Encodes every step into ONE command encoder and submits it ONCE. Returns the uniform
    /// buffer, to be handed back to the pool after the work completes.
    pub fn finish(self) -> Option<wgpu::Buffer> {
        let gpu = self.gpu;
        let device = &gpu.ctx.device;
        let align = gpu.ctx.limits.min_uniform_buffer_offset_alignment.max(16) as usize;
        let mut blob = Vec::new();
        let mut offsets = Vec::new();
        for s in &self.steps {
            if let Step::Dispatch { params, .. } = s {
                offsets.push(blob.len() as u64);
                blob.extend_from_slice(params);
                blob.resize(blob.len().next_multiple_of(align), 0);
            }
        }
        let ubuf = (!blob.is_empty()).then(|| {
            // Round up so that forwards of similar sizes share a pooled buffer.
            let size = (blob.len() as u64).next_power_of_two();
            let b = gpu.pool.acquire(device, size, U::UNIFORM | U::COPY_DST);
            gpu.ctx.queue.write_buffer(&b, 0, &blob);
            b
        });
        let mut enc = device.create_command_encoder(&wgpu::CommandEncoderDescriptor {
            label: Some("whitebox forward"),
        });
        let ndisp = self
            .steps
            .iter()
            .filter(|s| matches!(s, Step::Dispatch { .. }))
            .count() as u32;
        let queries = (gpu.profiling && gpu.ctx.features.timestamp_query && ndisp > 0).then(|| {
            let count = (2 * ndisp).min(profile::MAX_QUERIES);
            let set = device.create_query_set(&wgpu::QuerySetDescriptor {
                label: Some("kernel timestamps"),
                ty: wgpu::QueryType::Timestamp,
                count,
            });
            (set, count)
        });
        let mut labels = Vec::new();
        let mut di = 0;
        let mut i = 0;
        while i < self.steps.len() {
            if let Step::Copy { src, dst, bytes } = &self.steps[i] {
                enc.copy_buffer_to_buffer(src, 0, dst, 0, *bytes);
                i += 1;
                continue;
            }
            // Consecutive dispatches share one compute pass; wgpu orders them by their buffer
            // usage, so a kernel sees what the previous one wrote. When profiling, each
            // dispatch gets its own pass with begin/end timestamps.
            let q = labels.len() as u32 * 2;
            let timed = queries.as_ref().filter(|(_, count)| q + 2 <= *count);
            let mut pass = enc.begin_compute_pass(&wgpu::ComputePassDescriptor {
                label: None,
                timestamp_writes: timed.map(|(set, _)| wgpu::ComputePassTimestampWrites {
                    query_set: set,
                    beginning_of_pass_write_index: Some(q),
                    end_of_pass_write_index: Some(q + 1),
                }),
            });
            let mut first = true;
            while let Some(Step::Dispatch {
                kernel,
                bufs,
                params,
                groups,
            }) = self.steps.get(i)
            {
                if queries.is_some() && !first {
                    break;
                }
                first = false;
                if timed.is_some() {
                    labels.push(kernel.label.clone());
                }
                let ub = ubuf.as_ref().expect("uniform buffer");
                let mut entries: Vec<wgpu::BindGroupEntry> = bufs
                    .iter()
                    .enumerate()
                    .map(|(i, b)| wgpu::BindGroupEntry {
                        binding: i as u32,
                        resource: b.as_entire_binding(),
                    })
                    .collect();
                entries.push(wgpu::BindGroupEntry {
                    binding: bufs.len() as u32,
                    resource: wgpu::BindingResource::Buffer(wgpu::BufferBinding {
                        buffer: ub,
                        offset: offsets[di],
                        size: wgpu::BufferSize::new(params.len() as u64),
                    }),
                });
                di += 1;
                let bg = device.create_bind_group(&wgpu::BindGroupDescriptor {
                    label: None,
                    layout: &kernel.layout,
                    entries: &entries,
                });
                pass.set_pipeline(&kernel.pipeline);
                pass.set_bind_group(0, &bg, &[]);
                pass.dispatch_workgroups(groups[0], groups[1], groups[2]);
                i += 1;
            }
        }
        if let (Some((set, _)), false) = (&queries, labels.is_empty()) {
            let bytes = labels.len() as u64 * 16;
            let resolve =
                gpu.pool
                    .acquire(device, bytes, U::QUERY_RESOLVE | U::STORAGE | U::COPY_SRC);
            let staging = gpu.pool.acquire(device, bytes, READBACK);
            enc.resolve_query_set(set, 0..labels.len() as u32 * 2, &resolve, 0);
            enc.copy_buffer_to_buffer(&resolve, 0, &staging, 0, bytes);
            gpu.pool.release([resolve]);
            gpu.profile_pending = Some(profile::Pending { staging, labels });
        }
        gpu.ctx.submit(enc.finish());
        gpu.pool
            .release(self.scratch.into_iter().map(|(_, _, b)| b));
        ubuf
    }
}

/// Workgroups for `n` independent items of 64 threads, spread over x and y so that neither
/// exceeds WebGPU's 65535 per dimension; kernels rebuild the flat index from num_workgroups.
pub fn groups_1d(items: usize, per_group: usize) -> [u32; 3] {
    let g = items.div_ceil(per_group).max(1);
    let x = g.min(32768);
    [x as u32, g.div_ceil(x) as u32, 1]
}
