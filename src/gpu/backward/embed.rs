//! Wrapper of `shaders/embed_backward.wgsl`: the patch rows of dZ^1 without the CLS row.

use bytemuck::{Pod, Zeroable};

use crate::gpu::pool::Bind;
use crate::gpu::{groups_1d, Recorder};

pub(crate) const SOURCE: &str = include_str!(concat!(env!("OUT_DIR"), "/embed_backward.wgsl"));
const BINDS: [Bind; 3] = [Bind::Read, Bind::ReadWrite, Bind::Uniform];

#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Pod, Zeroable)]
struct Params {
    n: u32,
    nt: u32,
    d: u32,
    total: u32,
}

#[cfg(test)]
crate::gpu::shaders::params_layout!(Params, [n, nt, d, total]);

/// `de[(b, t)] = dz[(b, t + 1)]`: (B*n, d) from (B*N, d).
pub fn drop_cls(
    rec: &mut Recorder,
    dz: &wgpu::Buffer,
    de: &wgpu::Buffer,
    b: usize,
    n: usize,
    d: usize,
) {
    let kernel = rec.gpu.cache.get(
        &rec.gpu.ctx.device,
        "embed_backward",
        SOURCE,
        "drop_cls",
        &BINDS,
        &[],
    );
    let total = b * n * d;
    let p = Params {
        n: n as u32,
        nt: (n + 1) as u32,
        d: d as u32,
        total: total as u32,
    };
    rec.dispatch(
        kernel,
        vec![dz.clone(), de.clone()],
        bytemuck::bytes_of(&p),
        groups_1d(total, 64),
    );
}
