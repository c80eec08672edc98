//! Wrapper of `shaders/layernorm.wgsl`: row-wise LayerNorm, one workgroup per row.

use bytemuck::{Pod, Zeroable};

use super::pool::Bind;
use super::Recorder;
use crate::cpu::layernorm::LN_EPS;

pub(crate) const SOURCE: &str = include_str!(concat!(env!("OUT_DIR"), "/layernorm.wgsl"));
const BINDS: [Bind; 5] = [
    Bind::Read,      // x
    Bind::Read,      // gamma
    Bind::Read,      // beta
    Bind::ReadWrite, // y
    Bind::Uniform,   // params
];

#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Pod, Zeroable)]
pub struct LnParams {
    pub rows: u32,
    pub dim: u32,
    pub in_stride: u32,
    pub out_stride: u32,
    pub in_off: u32,
    pub out_off: u32,
    pub eps: f32,
    pub pad0: u32,
}

#[cfg(test)]
crate::gpu::shaders::params_layout!(
    LnParams,
    [rows, dim, in_stride, out_stride, in_off, out_off, eps, pad0]
);

impl LnParams {
    /// `rows` contiguous rows of `dim`.
    pub fn rows(rows: usize, dim: usize) -> Self {
        Self {
            rows: rows as u32,
            dim: dim as u32,
            in_stride: dim as u32,
            out_stride: dim as u32,
            eps: LN_EPS,
            ..Default::default()
        }
    }
}

pub fn layer_norm(
    rec: &mut Recorder,
    x: &wgpu::Buffer,
    gamma: &wgpu::Buffer,
    beta: &wgpu::Buffer,
    y: &wgpu::Buffer,
    p: LnParams,
) {
    let reg = rec.gpu.reg_kernels;
    let kernel = rec.gpu.cache.get(
        &rec.gpu.ctx.device,
        "layernorm",
        SOURCE,
        if reg { "main_reg" } else { "main" },
        &BINDS,
        &[],
    );
    let bufs = vec![x.clone(), gamma.clone(), beta.clone(), y.clone()];
    rec.dispatch(
        kernel,
        bufs,
        bytemuck::bytes_of(&p),
        super::groups_1d(p.rows as usize, if reg { 64 } else { 1 }),
    );
}
