//! Wrapper of `shaders/mssa.wgsl`: per (token, head, image) scores, softmax and the weighted
//! sum of the projections; the output projection and residual use the matmul.

use bytemuck::{Pod, Zeroable};

use super::pool::Bind;
use super::Recorder;
use crate::error::{Error, Result};

const SOURCE: &str = include_str!("../../shaders/mssa.wgsl");
const BINDS: [Bind; 5] = [
    Bind::Read,      // w (B*N, d)
    Bind::ReadWrite, // o (B*N, d)
    Bind::ReadWrite, // probs (B, K, N, N)
    Bind::ReadWrite, // cls rows (B, K, N)
    Bind::Uniform,   // params
];
/// Tokens and head width the kernel's workgroup arrays hold.
pub const MAX_TOKENS: usize = 2048;
pub const MAX_HEAD_DIM: usize = 256;

#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Pod, Zeroable)]
struct MssaParams {
    nt: u32,
    d: u32,
    dh: u32,
    heads: u32,
    scale: f32,
    cls_off: u32,
    pad: [u32; 2],
}

/// Attention of projections `w` (B*N, d) into `o` (B*N, d); probabilities (B, K, N, N) into
/// `probs` only when given.
#[allow(clippy::too_many_arguments)]
pub fn attention(
    rec: &mut Recorder,
    w: &wgpu::Buffer,
    o: &wgpu::Buffer,
    probs: Option<&wgpu::Buffer>,
    b: usize,
    nt: usize,
    d: usize,
    heads: usize,
) -> Result<()> {
    attention_with_cls(rec, w, o, probs, None, b, nt, d, heads)
}

/// [`attention`], also writing each head's CLS query row (B, K, N) into `cls` at float offset
/// `.1` when given.
#[allow(clippy::too_many_arguments)]
pub fn attention_with_cls(
    rec: &mut Recorder,
    w: &wgpu::Buffer,
    o: &wgpu::Buffer,
    probs: Option<&wgpu::Buffer>,
    cls: Option<(&wgpu::Buffer, usize)>,
    b: usize,
    nt: usize,
    d: usize,
    heads: usize,
) -> Result<()> {
    let dh = d / heads;
    if nt > MAX_TOKENS || dh > MAX_HEAD_DIM {
        return Err(Error::Gpu(format!(
            "MSSA kernel supports at most {MAX_TOKENS} tokens and head dim {MAX_HEAD_DIM} \
             (got {nt} tokens, head dim {dh})"
        )));
    }
    let write = probs.is_some();
    let kernel = rec.gpu.cache.get(
        &rec.gpu.ctx.device,
        "mssa",
        SOURCE,
        "main",
        &BINDS,
        &[
            ("WRITE_PROBS", write as u8 as f64),
            ("WRITE_CLS", cls.is_some() as u8 as f64),
        ],
    );
    let dummy = rec.dummy_rw();
    let bufs = vec![
        w.clone(),
        o.clone(),
        probs.unwrap_or(&dummy).clone(),
        cls.map_or(&dummy, |c| c.0).clone(),
    ];
    let p = MssaParams {
        nt: nt as u32,
        d: d as u32,
        dh: dh as u32,
        heads: heads as u32,
        scale: 1.0 / (dh as f32).sqrt(),
        cls_off: cls.map_or(0, |c| c.1) as u32,
        pad: [0; 2],
    };
    rec.dispatch(
        kernel,
        bufs,
        bytemuck::bytes_of(&p),
        [nt as u32, heads as u32, b as u32],
    );
    Ok(())
}
