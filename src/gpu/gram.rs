//! Wrapper of `shaders/gram.wgsl`: per (image, head) Gram matrices of unit-normalised
//! projections, packed upper triangles, so that R^c needs only K·dh(dh+1)/2 floats per image
//! read back (the logdet runs on the CPU, shared with the CPU path through
//! [`crate::analysis::coding_rate::coding_rate_from_grams`]).

use bytemuck::{Pod, Zeroable};

use super::pool::Bind;
use super::Recorder;
use crate::error::Result;
use crate::model::Dims;

pub(crate) const SOURCE: &str = include_str!(concat!(env!("OUT_DIR"), "/gram.wgsl"));
const BINDS: [Bind; 3] = [
    Bind::Read,      // w (B*N, d)
    Bind::ReadWrite, // packed Grams
    Bind::Uniform,   // params
];
/// Output tile side of one workgroup.
const TILE: usize = 16;
/// Tokens the kernel's inverse-norm array holds.
pub const MAX_TOKENS: usize = 2048;

#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Pod, Zeroable)]
struct GramParams {
    nt: u32,
    d: u32,
    dh: u32,
    heads: u32,
    /// Tiles per side (tiled kernel); the padded row length of X̂^T (CPU-adapter path).
    tiles: u32,
    out_off: u32,
    pad0: u32,
    /// Images (CPU-adapter path).
    batch: u32,
}

#[cfg(test)]
crate::gpu::shaders::params_layout!(GramParams, [nt, d, dh, heads, tiles, out_off, pad0, batch]);

/// Floats of one packed dh×dh upper triangle.
pub fn packed_len(dh: usize) -> usize {
    dh * (dh + 1) / 2
}

/// Writes the packed Grams of `w` (B*N, d) into `out` at float offset `out_off`, laid out
/// (B, K, dh(dh+1)/2).
pub fn grams(
    rec: &mut Recorder,
    w: &wgpu::Buffer,
    out: &wgpu::Buffer,
    out_off: usize,
    dims: Dims,
) -> Result<()> {
    let Dims { b, nt, d, heads } = dims;
    let dh = d / heads;
    // The matmul path has no token limit: past the tiled kernel's, every adapter takes it.
    if rec.gpu.reg_kernels || nt > MAX_TOKENS {
        grams_by_matmul(rec, w, out, out_off, dims);
        return Ok(());
    }
    let tiles = dh.div_ceil(TILE);
    let kernel = rec
        .gpu
        .cache
        .get(&rec.gpu.ctx.device, "gram", SOURCE, "main", &BINDS, &[]);
    let p = GramParams {
        nt: nt as u32,
        d: d as u32,
        dh: dh as u32,
        heads: heads as u32,
        tiles: tiles as u32,
        out_off: out_off as u32,
        pad0: 0,
        batch: b as u32,
    };
    rec.dispatch(
        kernel,
        vec![w.clone(), out.clone()],
        bytemuck::bytes_of(&p),
        [(tiles * tiles) as u32, heads as u32, b as u32],
    );
    Ok(())
}

/// The CPU-adapter path: normalise and transpose, matmul, pack (see `gram.wgsl`).
fn grams_by_matmul(
    rec: &mut Recorder,
    w: &wgpu::Buffer,
    out: &wgpu::Buffer,
    out_off: usize,
    dims: Dims,
) {
    let Dims { b, nt, d, heads } = dims;
    use super::matmul::{Matmul, MatmulParams};
    let dh = d / heads;
    let ld = nt.next_multiple_of(4);
    let xt = rec.scratch("gram.xt", b * heads * dh * ld);
    let full = rec.scratch("gram.full", b * heads * dh * dh);
    let p = GramParams {
        nt: nt as u32,
        d: d as u32,
        dh: dh as u32,
        heads: heads as u32,
        tiles: ld as u32,
        out_off: out_off as u32,
        pad0: 0,
        batch: b as u32,
    };
    let device = rec.gpu.ctx.device.clone();
    let k = rec
        .gpu
        .cache
        .get(&device, "gram", SOURCE, "normalise_t", &BINDS, &[]);
    rec.dispatch(
        k,
        vec![w.clone(), xt.clone()],
        bytemuck::bytes_of(&p),
        super::groups_1d(b * heads * ld, 64),
    );
    let (dh32, ld32) = (dh as u32, ld as u32);
    Matmul {
        a: &xt,
        b: &xt,
        c: &full,
        bias: None,
        extra: None,
        trans_b: true,
        relu: false,
        batch: (b * heads) as u32,
        params: MatmulParams {
            lda: ld32,
            ldb: ld32,
            a_so: dh32 * ld32,
            b_so: dh32 * ld32,
            c_so: dh32 * dh32,
            e_so: dh32 * dh32,
            ..MatmulParams::dense(dh, dh, ld, true)
        },
    }
    .record(rec);
    let k = rec
        .gpu
        .cache
        .get(&device, "gram", SOURCE, "pack", &BINDS, &[]);
    rec.dispatch(
        k,
        vec![full, out.clone()],
        bytemuck::bytes_of(&p),
        super::groups_1d(b * heads * dh * dh, 64),
    );
}

/// Unpacks one head's upper triangle into a full symmetric dh×dh matrix in f64.
pub fn unpack(packed: &[f32], dh: usize) -> Vec<f64> {
    let mut g = vec![0.0f64; dh * dh];
    let mut idx = 0;
    for i in 0..dh {
        for j in i..dh {
            let v = packed[idx] as f64;
            g[i * dh + j] = v;
            g[j * dh + i] = v;
            idx += 1;
        }
    }
    g
}
