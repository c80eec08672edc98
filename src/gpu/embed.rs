//! Wrapper of `shaders/embed.wgsl`: patchify and the CLS/position assembly around the patch
//! embedding's LayerNorms and matmul.

use bytemuck::{Pod, Zeroable};

use super::pool::Bind;
use super::Recorder;
use crate::model::Dims;

pub(crate) const SOURCE: &str = include_str!(concat!(env!("OUT_DIR"), "/embed.wgsl"));
const BINDS: [Bind; 5] = [
    Bind::Read,      // src
    Bind::Read,      // cls
    Bind::Read,      // pos
    Bind::ReadWrite, // dst
    Bind::Uniform,   // params
];

#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Pod, Zeroable)]
struct EmbedParams {
    b: u32,
    c: u32,
    h: u32,
    w: u32,
    p: u32,
    gw: u32,
    n: u32,
    plen: u32,
    nt: u32,
    d: u32,
    total: u32,
    pad0: u32,
}

#[cfg(test)]
crate::gpu::shaders::params_layout!(
    EmbedParams,
    [b, c, h, w, p, gw, n, plen, nt, d, total, pad0]
);

/// Images `[B, C, H, W]` into patch vectors (B*n, p*p*C).
pub fn patchify(
    rec: &mut Recorder,
    images: &wgpu::Buffer,
    patches: &wgpu::Buffer,
    [b, c, h, w]: [usize; 4],
    p: usize,
) {
    let kernel = rec.gpu.cache.get(
        &rec.gpu.ctx.device,
        "embed",
        SOURCE,
        "patchify",
        &BINDS,
        &[],
    );
    let (gh, gw) = (h / p, w / p);
    let plen = p * p * c;
    let total = b * gh * gw * plen;
    let prm = EmbedParams {
        b: b as u32,
        c: c as u32,
        h: h as u32,
        w: w as u32,
        p: p as u32,
        gw: gw as u32,
        n: (gh * gw) as u32,
        plen: plen as u32,
        total: total as u32,
        ..Default::default()
    };
    let d = rec.dummy_read();
    rec.dispatch(
        kernel,
        vec![images.clone(), d.clone(), d, patches.clone()],
        bytemuck::bytes_of(&prm),
        super::groups_1d(total, 64),
    );
}

/// Z^1 (B*N, d) = [cls ; e] + pos, from patch embeddings `e` (B*n, d).
pub fn assemble(
    rec: &mut Recorder,
    e: &wgpu::Buffer,
    cls: &wgpu::Buffer,
    pos: &wgpu::Buffer,
    z: &wgpu::Buffer,
    dims: Dims,
) {
    let (b, n, d) = (dims.b, dims.patches(), dims.d);
    let kernel = rec.gpu.cache.get(
        &rec.gpu.ctx.device,
        "embed",
        SOURCE,
        "assemble",
        &BINDS,
        &[],
    );
    let total = b * (n + 1) * d;
    let prm = EmbedParams {
        b: b as u32,
        n: n as u32,
        nt: (n + 1) as u32,
        d: d as u32,
        total: total as u32,
        ..Default::default()
    };
    rec.dispatch(
        kernel,
        vec![e.clone(), cls.clone(), pos.clone(), z.clone()],
        bytemuck::bytes_of(&prm),
        super::groups_1d(total, 64),
    );
}
