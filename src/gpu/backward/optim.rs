//! Wrapper of `shaders/optim.wgsl`: gradient norm, finite flag and clipping, then AdamW or Lion
//! per parameter tensor, all inside the step's one submission. The `scal` buffer's layout is
//! documented in the shader; [`Scal`] names its slots.

use bytemuck::{Pod, Zeroable};

use crate::gpu::pool::Bind;
use crate::gpu::{groups_1d, Recorder};
use crate::train::{OptimConfig, OptimizerKind};

pub(crate) const SOURCE: &str = include_str!(concat!(env!("OUT_DIR"), "/optim.wgsl"));
const BINDS: [Bind; 7] = [
    Bind::Read,      // rows (2B): per-image loss, correct
    Bind::Read,      // g: the flat gradient buffer
    Bind::ReadWrite, // w: one parameter tensor
    Bind::ReadWrite, // m
    Bind::ReadWrite, // v
    Bind::ReadWrite, // scal
    Bind::Uniform,
];
/// Workgroups of the partial sums of squares (the shader's NPART).
pub const NPART: usize = 256;
/// Floats in the `scal` buffer.
pub const SCAL_LEN: usize = 16 + NPART;

/// Slots of the `scal` buffer.
pub struct Scal;
impl Scal {
    pub const LOSS: usize = 0;
    pub const CORRECT: usize = 1;
    pub const NORM: usize = 2;
    pub const FINITE: usize = 4;
    pub const STEPS: usize = 5;
    pub const SKIPPED: usize = 6;
    pub const RUN_LOSS: usize = 7;
    pub const RUN_CORRECT: usize = 8;
    pub const RUN_IMAGES: usize = 9;
    pub const RUN_SKIPPED: usize = 10;
    pub const RUN_STEPS: usize = 11;
    pub const BETA1_T: usize = 12;
    pub const BETA2_T: usize = 13;
}

#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Pod, Zeroable)]
struct Params {
    len: u32,
    goff: u32,
    lr: f32,
    wd: f32,
    beta1: f32,
    beta2: f32,
    eps: f32,
    clip: f32,
    b: u32,
    total: u32,
    pad: [u32; 2],
}

#[cfg(test)]
crate::gpu::shaders::params_layout!(
    Params,
    [len, goff, lr, wd, beta1, beta2, eps, clip, b, total, pad]
);

/// Buffers the optimiser kernels bind: `rows` (2B, per-image loss and correct), `grads` (flat),
/// `scal`, and three distinct spare storage buffers for the bindings an entry does not use
/// (WebGPU forbids binding one writable buffer twice).
pub struct OptimBuffers<'a> {
    pub rows: &'a wgpu::Buffer,
    pub grads: &'a wgpu::Buffer,
    pub scal: &'a wgpu::Buffer,
    pub spare: [&'a wgpu::Buffer; 3],
}

fn kernel(rec: &mut Recorder, entry: &'static str) -> crate::gpu::Kernel {
    rec.gpu
        .cache
        .get(&rec.gpu.ctx.device, "optim", SOURCE, entry, &BINDS, &[])
}

/// Global norm of `total` gradients, finite flag, clip scale (`clip` 0: none), step counters.
pub fn norm_and_flags(
    rec: &mut Recorder,
    bufs: &OptimBuffers,
    total: usize,
    b: usize,
    clip: Option<f32>,
    cfg: &OptimConfig,
) {
    let p = Params {
        total: total as u32,
        b: b as u32,
        clip: clip.unwrap_or(0.0),
        beta1: cfg.beta1,
        beta2: cfg.beta2,
        ..Default::default()
    };
    let binds = vec![
        bufs.rows.clone(),
        bufs.grads.clone(),
        bufs.spare[0].clone(),
        bufs.spare[1].clone(),
        bufs.spare[2].clone(),
        bufs.scal.clone(),
    ];
    let k = kernel(rec, "partial");
    rec.dispatch(
        k,
        binds.clone(),
        bytemuck::bytes_of(&p),
        [NPART as u32, 1, 1],
    );
    let k = kernel(rec, "finalize");
    rec.dispatch(k, binds, bytemuck::bytes_of(&p), [1, 1, 1]);
}

/// One tensor's update: the weights `w` (len values), their moments (`v`: AdamW only) and
/// where their gradient starts in the flat buffer.
pub struct Update<'a> {
    pub w: &'a wgpu::Buffer,
    pub m: &'a wgpu::Buffer,
    pub v: Option<&'a wgpu::Buffer>,
    pub len: usize,
    pub goff: usize,
    pub lr: f32,
    /// Weight decay for this tensor (0 where it is not decayed).
    pub wd: f32,
}

/// Records `u` (for Lion `v` is ignored: a spare is bound).
pub fn update(rec: &mut Recorder, bufs: &OptimBuffers, cfg: &OptimConfig, u: &Update) {
    let Update {
        w,
        m,
        v,
        len,
        goff,
        lr,
        wd,
    } = *u;
    let entry = match cfg.kind {
        OptimizerKind::AdamW => "adamw",
        OptimizerKind::Lion => "lion",
    };
    let p = Params {
        len: len as u32,
        goff: goff as u32,
        lr,
        wd,
        beta1: cfg.beta1,
        beta2: cfg.beta2,
        eps: cfg.eps,
        ..Default::default()
    };
    let k = kernel(rec, entry);
    let binds = vec![
        bufs.rows.clone(),
        bufs.grads.clone(),
        w.clone(),
        m.clone(),
        v.unwrap_or(bufs.spare[0]).clone(),
        bufs.scal.clone(),
    ];
    rec.dispatch(k, binds, bytemuck::bytes_of(&p), groups_1d(len, 64));
}
