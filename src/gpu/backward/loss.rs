//! Wrapper of `shaders/loss.wgsl`: label-smoothed softmax cross-entropy, its gradient and
//! per-image loss / correctness rows.

use bytemuck::{Pod, Zeroable};

use crate::gpu::pool::Bind;
use crate::gpu::{groups_1d, Recorder};

pub(crate) const SOURCE: &str = include_str!(concat!(env!("OUT_DIR"), "/loss.wgsl"));
const BINDS: [Bind; 5] = [
    Bind::Read,      // logits (B, C)
    Bind::Read,      // labels (B) as f32
    Bind::ReadWrite, // dlogits (B, C)
    Bind::ReadWrite, // rows (2B): loss, correct
    Bind::Uniform,
];

#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Pod, Zeroable)]
struct Params {
    b: u32,
    classes: u32,
    smoothing: f32,
    pad: u32,
}

#[cfg(test)]
crate::gpu::shaders::params_layout!(Params, [b, classes, smoothing, pad]);

/// The loss of `logits` (B, classes) against `labels` (B, as f32) with label smoothing:
/// `dlogits` (B, classes) and per-image `rows` (2B: loss, then correct).
pub fn cross_entropy(
    rec: &mut Recorder,
    logits: &wgpu::Buffer,
    labels: &wgpu::Buffer,
    [dlogits, rows]: [&wgpu::Buffer; 2],
    [b, classes]: [usize; 2],
    smoothing: f32,
) {
    let kernel = rec.gpu.cache.get(
        &rec.gpu.ctx.device,
        "loss",
        SOURCE,
        "cross_entropy",
        &BINDS,
        &[],
    );
    let p = Params {
        b: b as u32,
        classes: classes as u32,
        smoothing,
        pad: 0,
    };
    rec.dispatch(
        kernel,
        vec![
            logits.clone(),
            labels.clone(),
            dlogits.clone(),
            rows.clone(),
        ],
        bytemuck::bytes_of(&p),
        groups_1d(b, 64),
    );
}
