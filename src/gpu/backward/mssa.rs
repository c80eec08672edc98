//! Wrapper of `shaders/mssa_backward.wgsl`: `dw` (B*N, d) of the attention from `do`, the
//! projections `w` and the saved probabilities (B, K, N, N). On CPU-emulated adapters, when d
//! and the head dim are multiples of 4, its register twin `shaders/mssa_backward_reg.wgsl`, and
//! where the adapter has subgroups of 8 and the head dim is a multiple of 32, that twin's
//! subgroup form `shaders/mssa_backward_sg.wgsl` (the same bits).

use bytemuck::{Pod, Zeroable};

use crate::error::{Error, Result};
use crate::gpu::mssa::{MAX_HEAD_DIM, MAX_TOKENS};
use crate::gpu::pool::Bind;
use crate::gpu::Recorder;
use crate::model::Dims;

pub(crate) const SOURCE: &str = include_str!(concat!(env!("OUT_DIR"), "/mssa_backward.wgsl"));
pub(crate) const REG_SOURCE: &str =
    include_str!(concat!(env!("OUT_DIR"), "/mssa_backward_reg.wgsl"));
/// The register kernels' subgroup forms; the web build has the `enable` directive naga 30
/// rejects (see `crate::gpu::matmul::SOURCE_SG`).
#[cfg(not(target_arch = "wasm32"))]
pub(crate) const SG_SOURCE: &str = include_str!(concat!(env!("OUT_DIR"), "/mssa_backward_sg.wgsl"));
#[cfg(target_arch = "wasm32")]
pub(crate) const SG_SOURCE: &str = concat!(
    "enable subgroups;\n",
    include_str!(concat!(env!("OUT_DIR"), "/mssa_backward_sg.wgsl"))
);
const BINDS: [Bind; 6] = [
    Bind::Read,      // w (B*N, d)
    Bind::Read,      // probs (B, K, N, N)
    Bind::Read,      // do (B*N, d)
    Bind::ReadWrite, // ds (B, K, N, N) scratch
    Bind::ReadWrite, // dw (B*N, d)
    Bind::Uniform,
];

#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Pod, Zeroable)]
struct Params {
    nt: u32,
    d: u32,
    dh: u32,
    heads: u32,
    scale: f32,
    pad: [u32; 3],
}

#[cfg(test)]
crate::gpu::shaders::params_layout!(Params, [nt, d, dh, heads, scale, pad]);

/// Query tokens per invocation of `w_grad_sg8` (its `ROWS` in `shaders/mssa_backward_sg.wgsl`).
const W_GRAD_ROWS: usize = 4;

/// Records the attention backward; `ds` is scratch of B*K*N*N floats.
pub fn attention_backward(
    rec: &mut Recorder,
    w: &wgpu::Buffer,
    probs: &wgpu::Buffer,
    dout: &wgpu::Buffer,
    ds: &wgpu::Buffer,
    dw: &wgpu::Buffer,
    dims: Dims,
) -> Result<()> {
    let Dims { b, nt, d, heads } = dims;
    let dh = d / heads;
    if nt > MAX_TOKENS || dh > MAX_HEAD_DIM {
        return Err(Error::Gpu(format!(
            "MSSA backward supports at most {MAX_TOKENS} tokens and head dim {MAX_HEAD_DIM} \
             (got {nt} tokens, head dim {dh})"
        )));
    }
    let p = Params {
        nt: nt as u32,
        d: d as u32,
        dh: dh as u32,
        heads: heads as u32,
        scale: 1.0 / (dh as f32).sqrt(),
        pad: [0; 3],
    };
    let (h, bb) = (heads as u32, b as u32);
    let reg = rec.gpu.reg_kernels && d.is_multiple_of(4) && dh.is_multiple_of(4);
    // The subgroup forms want a subgroup of 8 to share a token in `w_grad`: dh/4 a multiple of 8.
    let sg = reg && rec.gpu.subgroups == Some(8) && dh.is_multiple_of(32);
    let steps = if reg {
        let rows = (nt as u32).div_ceil(64);
        let (name, source, scores, wgrad, cells) = if sg {
            // Heads of 32 and 64 hold the query row in registers.
            let scores = match dh / 4 {
                8 => "scores_grad_sg8_h8",
                16 => "scores_grad_sg8_h16",
                _ => "scores_grad_sg8",
            };
            let cells = nt.div_ceil(W_GRAD_ROWS) * dh / 4;
            ("mssa_backward_sg", SG_SOURCE, scores, "w_grad_sg8", cells)
        } else {
            let cells = nt * dh / 4;
            (
                "mssa_backward_reg",
                REG_SOURCE,
                "scores_grad_reg",
                "w_grad_reg",
                cells,
            )
        };
        let cells = (cells as u32).div_ceil(64);
        [
            (name, source, scores, [rows, h, bb]),
            (name, source, wgrad, [cells, h, bb]),
        ]
    } else {
        let rows = [nt as u32, h, bb];
        [
            ("mssa_backward", SOURCE, "scores_grad", rows),
            ("mssa_backward", SOURCE, "w_grad", rows),
        ]
    };
    for (name, source, entry, groups) in steps {
        let kernel = rec
            .gpu
            .cache
            .get(&rec.gpu.ctx.device, name, source, entry, &BINDS, &[]);
        let bufs = vec![
            w.clone(),
            probs.clone(),
            dout.clone(),
            ds.clone(),
            dw.clone(),
        ];
        rec.dispatch(kernel, bufs, bytemuck::bytes_of(&p), groups);
    }
    Ok(())
}
