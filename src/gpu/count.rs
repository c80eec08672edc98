//! Wrapper of `shaders/count.wgsl`: non-zero counts per image (ISTA sparsity), one float per
//! image read back instead of the whole state.

use bytemuck::{Pod, Zeroable};

use super::pool::Bind;
use super::Recorder;

pub(crate) const SOURCE: &str = include_str!(concat!(env!("OUT_DIR"), "/count.wgsl"));
const BINDS: [Bind; 3] = [
    Bind::Read,      // z (B, len)
    Bind::ReadWrite, // counts
    Bind::Uniform,   // params
];

#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Pod, Zeroable)]
struct CountParams {
    len: u32,
    out_off: u32,
    pad: [u32; 2],
}

#[cfg(test)]
crate::gpu::shaders::params_layout!(CountParams, [len, out_off, pad]);

/// Writes the non-zero count of each of the `b` slices of `len` floats of `z` to
/// `counts[out_off + image]`.
pub fn nonzero(
    rec: &mut Recorder,
    z: &wgpu::Buffer,
    counts: &wgpu::Buffer,
    out_off: usize,
    b: usize,
    len: usize,
) {
    let kernel = rec
        .gpu
        .cache
        .get(&rec.gpu.ctx.device, "count", SOURCE, "main", &BINDS, &[]);
    let p = CountParams {
        len: len as u32,
        out_off: out_off as u32,
        pad: [0; 2],
    };
    rec.dispatch(
        kernel,
        vec![z.clone(), counts.clone()],
        bytemuck::bytes_of(&p),
        [b as u32, 1, 1],
    );
}
