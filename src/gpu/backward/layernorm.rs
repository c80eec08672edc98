//! Wrapper of `shaders/layernorm_backward.wgsl`, plus the gamma/beta gradients as column sums.

use bytemuck::{Pod, Zeroable};

use super::matmul::ColSum;
use crate::cpu::layernorm::LN_EPS;
use crate::gpu::pool::Bind;
use crate::gpu::{groups_1d, Recorder};

pub(crate) const SOURCE: &str = include_str!(concat!(env!("OUT_DIR"), "/layernorm_backward.wgsl"));
const BINDS: [Bind; 7] = [
    Bind::Read,      // x (the forward's input)
    Bind::Read,      // gamma
    Bind::Read,      // dy
    Bind::Read,      // resid
    Bind::ReadWrite, // dx
    Bind::ReadWrite, // xhat (rows, dim)
    Bind::Uniform,
];

#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Pod, Zeroable)]
pub struct LnBackParams {
    pub rows: u32,
    pub dim: u32,
    pub x_stride: u32,
    pub x_off: u32,
    pub dy_stride: u32,
    pub dy_off: u32,
    pub dx_stride: u32,
    pub dx_off: u32,
    pub eps: f32,
    pub pad: [u32; 3],
}

#[cfg(test)]
crate::gpu::shaders::params_layout!(
    LnBackParams,
    [rows, dim, x_stride, x_off, dy_stride, dy_off, dx_stride, dx_off, eps, pad]
);

impl LnBackParams {
    /// `rows` contiguous rows of `dim` everywhere.
    pub fn rows(rows: usize, dim: usize) -> Self {
        let d = dim as u32;
        Self {
            rows: rows as u32,
            dim: d,
            x_stride: d,
            dy_stride: d,
            dx_stride: d,
            eps: LN_EPS,
            ..Default::default()
        }
    }
}

/// Where the LayerNorm's parameter gradients go in the flat gradient buffer.
#[derive(Clone, Copy, Debug)]
pub struct LnGradSlots {
    pub gamma: usize,
    pub beta: usize,
}

/// The LayerNorm backward: `dx` (plus `resid` when given) when `dx` is given, and
/// `dgamma = sum dy ⊙ xhat`, `dbeta = sum dy` into `grads` (overwritten). `xhat` is scratch of
/// at least rows × dim; `dy` must be contiguous (rows, dim). `scratch` (optional) lets the
/// column sums over many rows run in two passes.
pub struct LnBackward<'a> {
    /// The forward's input and gamma.
    pub x: &'a wgpu::Buffer,
    pub gamma: &'a wgpu::Buffer,
    pub dy: &'a wgpu::Buffer,
    pub resid: Option<&'a wgpu::Buffer>,
    pub dx: Option<&'a wgpu::Buffer>,
    pub xhat: &'a wgpu::Buffer,
    pub grads: &'a wgpu::Buffer,
    pub slots: LnGradSlots,
    pub params: LnBackParams,
    pub scratch: Option<&'a wgpu::Buffer>,
}

impl LnBackward<'_> {
    pub fn record(&self, rec: &mut Recorder) {
        layer_norm_backward(rec, self);
    }
}

fn layer_norm_backward(rec: &mut Recorder, lb: &LnBackward) {
    let LnBackward {
        x,
        gamma,
        dy,
        resid,
        dx,
        xhat,
        grads,
        slots,
        params: p,
        scratch,
    } = *lb;
    // One invocation per row on CPU-emulated adapters, one workgroup per row otherwise.
    let reg = rec.gpu.reg_kernels;
    let kernel = rec.gpu.cache.get(
        &rec.gpu.ctx.device,
        "layernorm_backward",
        SOURCE,
        if reg { "main_reg" } else { "main" },
        &BINDS,
        &[
            ("WRITE_DX", dx.is_some() as u8 as f64),
            ("HAS_RESID", resid.is_some() as u8 as f64),
        ],
    );
    let (dr, drw) = (rec.dummy_read(), rec.dummy_rw());
    let bufs = vec![
        x.clone(),
        gamma.clone(),
        dy.clone(),
        resid.unwrap_or(&dr).clone(),
        dx.unwrap_or(&drw).clone(),
        xhat.clone(),
    ];
    rec.dispatch(
        kernel,
        bufs,
        bytemuck::bytes_of(&p),
        groups_1d(p.rows as usize, if reg { 64 } else { 1 }),
    );
    let (rows, dim) = (p.rows as usize, p.dim as usize);
    for (b, off) in [(Some(xhat), slots.gamma), (None, slots.beta)] {
        ColSum {
            a: dy,
            a_off: p.dy_off as usize,
            ld: p.dy_stride as usize,
            b,
            out: grads,
            out_off: off,
            rows,
            cols: dim,
            alpha: 1.0,
            accum: false,
            scratch,
        }
        .record(rec);
    }
}
