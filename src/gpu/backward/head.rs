//! Wrapper of `shaders/head_backward.wgsl`: dZ of the last layer from the CLS gradient.

use bytemuck::{Pod, Zeroable};

use crate::gpu::pool::Bind;
use crate::gpu::{groups_1d, Recorder};

pub(crate) const SOURCE: &str = include_str!(concat!(env!("OUT_DIR"), "/head_backward.wgsl"));
const BINDS: [Bind; 3] = [Bind::Read, Bind::ReadWrite, Bind::Uniform];

#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Pod, Zeroable)]
struct Params {
    nt: u32,
    d: u32,
    total: u32,
    pad: u32,
}

#[cfg(test)]
crate::gpu::shaders::params_layout!(Params, [nt, d, total, pad]);

/// `dz` (B*N, d): `dcls` (B, d) on the CLS rows, zero elsewhere.
pub fn scatter_cls(
    rec: &mut Recorder,
    dcls: &wgpu::Buffer,
    dz: &wgpu::Buffer,
    b: usize,
    nt: usize,
    d: usize,
) {
    let kernel = rec.gpu.cache.get(
        &rec.gpu.ctx.device,
        "head_backward",
        SOURCE,
        "scatter_cls",
        &BINDS,
        &[],
    );
    let total = b * nt * d;
    let p = Params {
        nt: nt as u32,
        d: d as u32,
        total: total as u32,
        pad: 0,
    };
    rec.dispatch(
        kernel,
        vec![dcls.clone(), dz.clone()],
        bytemuck::bytes_of(&p),
        groups_1d(total, 64),
    );
}
