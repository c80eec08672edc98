//! Wrapper of `shaders/ista_backward.wgsl`: the ReLU mask and an element-wise add; the ISTA
//! block's backward composes them with the matmuls in [`crate::gpu::train`].

use bytemuck::{Pod, Zeroable};

use crate::gpu::pool::Bind;
use crate::gpu::{groups_1d, Recorder};

pub(crate) const SOURCE: &str = include_str!(concat!(env!("OUT_DIR"), "/ista_backward.wgsl"));
const BINDS: [Bind; 4] = [Bind::Read, Bind::Read, Bind::ReadWrite, Bind::Uniform];

#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Pod, Zeroable)]
struct Params {
    total: u32,
    pad: [u32; 3],
}

#[cfg(test)]
crate::gpu::shaders::params_layout!(Params, [total, pad]);

fn elementwise(
    rec: &mut Recorder,
    entry: &'static str,
    a: &wgpu::Buffer,
    b: &wgpu::Buffer,
    out: &wgpu::Buffer,
    total: usize,
) {
    let kernel = rec.gpu.cache.get(
        &rec.gpu.ctx.device,
        "ista_backward",
        SOURCE,
        entry,
        &BINDS,
        &[],
    );
    let p = Params {
        total: total as u32,
        pad: [0; 3],
    };
    rec.dispatch(
        kernel,
        vec![a.clone(), b.clone(), out.clone()],
        bytemuck::bytes_of(&p),
        groups_1d(total, 64),
    );
}

/// `out = dz ⊙ [zout > 0]`.
pub fn relu_mask(
    rec: &mut Recorder,
    dz: &wgpu::Buffer,
    zout: &wgpu::Buffer,
    out: &wgpu::Buffer,
    total: usize,
) {
    elementwise(rec, "relu_mask", dz, zout, out, total);
}

/// `out = a + b`.
pub fn add(
    rec: &mut Recorder,
    a: &wgpu::Buffer,
    b: &wgpu::Buffer,
    out: &wgpu::Buffer,
    total: usize,
) {
    elementwise(rec, "add", a, b, out, total);
}
