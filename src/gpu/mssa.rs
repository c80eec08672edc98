//! Wrapper of `shaders/mssa.wgsl`: per (token, head, image) scores, softmax and the weighted
//! sum of the projections; the output projection and residual use the matmul.

use bytemuck::{Pod, Zeroable};

use super::matmul::{Matmul, MatmulParams};
use super::pool::Bind;
use super::Recorder;
use crate::error::{Error, Result};
use crate::model::Dims;

pub(crate) const SOURCE: &str = include_str!(concat!(env!("OUT_DIR"), "/mssa.wgsl"));
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
/// Tokens up to which the tiled path runs four query rows per workgroup (`main_q4`).
pub const MAX_TOKENS_Q4: usize = 736;

#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Pod, Zeroable)]
struct MssaParams {
    nt: u32,
    d: u32,
    dh: u32,
    heads: u32,
    scale: f32,
    cls_off: u32,
    batch: u32,
    /// Row stride of the probabilities in the softmax (CPU-adapter path).
    ld: u32,
}

#[cfg(test)]
crate::gpu::shaders::params_layout!(MssaParams, [nt, d, dh, heads, scale, cls_off, batch, ld]);

/// Attention of projections `w` (B*N, d) into `o` (B*N, d); probabilities (B, K, N, N) into
/// `probs` only when given.
pub fn attention(
    rec: &mut Recorder,
    w: &wgpu::Buffer,
    o: &wgpu::Buffer,
    probs: Option<&wgpu::Buffer>,
    dims: Dims,
) -> Result<()> {
    attention_with_cls(rec, w, o, probs, None, dims)
}

/// [`attention`], also writing each head's CLS query row (B, K, N) into `cls` at float offset
/// `.1` when given.
pub fn attention_with_cls(
    rec: &mut Recorder,
    w: &wgpu::Buffer,
    o: &wgpu::Buffer,
    probs: Option<&wgpu::Buffer>,
    cls: Option<(&wgpu::Buffer, usize)>,
    dims: Dims,
) -> Result<()> {
    let Dims { b, nt, d, heads } = dims;
    let dh = d / heads;
    if nt > MAX_TOKENS || dh > MAX_HEAD_DIM {
        return Err(Error::Gpu(format!(
            "MSSA kernel supports at most {MAX_TOKENS} tokens and head dim {MAX_HEAD_DIM} \
             (got {nt} tokens, head dim {dh})"
        )));
    }
    let write = probs.is_some();
    let reg = rec.gpu.reg_kernels;
    let consts = [
        ("WRITE_PROBS", write as u8 as f64),
        ("WRITE_CLS", cls.is_some() as u8 as f64),
    ];
    let mut p = MssaParams {
        nt: nt as u32,
        d: d as u32,
        dh: dh as u32,
        heads: heads as u32,
        scale: 1.0 / (dh as f32).sqrt(),
        cls_off: cls.map_or(0, |c| c.1) as u32,
        batch: b as u32,
        ld: nt as u32,
    };
    let dummy = rec.dummy_rw();
    let dummy2 = rec.dummy_rw2();
    if reg {
        // Scores and probabilities × projections on the matmul kernel, the softmax in place in
        // between; the probabilities go to a per-submission scratch buffer when not asked for.
        // A scratch buffer gets rows padded to a multiple of 4, so that P·W runs on the
        // vec4 kernel; asked-for probabilities keep the (B, K, N, N) layout.
        let (pr, ld) = match probs {
            Some(pr) => (pr.clone(), nt),
            None => {
                let ld = nt.next_multiple_of(4);
                (rec.scratch("mssa.probs", b * heads * nt * ld), ld)
            }
        };
        p.ld = ld as u32;
        let ld32 = ld as u32;
        let per_head = |m, n, k, lda, ldb, ldc| MatmulParams {
            m,
            n,
            k,
            batch_inner: heads as u32,
            lda,
            ldb,
            ldc,
            lde: ldc,
            alpha: 1.0,
            ..MatmulParams::default()
        };
        let (nt32, d32, dh32) = (nt as u32, d as u32, dh as u32);
        Matmul {
            a: w,
            b: w,
            c: &pr,
            bias: None,
            extra: None,
            trans_b: true,
            relu: false,
            batch: (b * heads) as u32,
            params: MatmulParams {
                a_so: nt32 * d32,
                a_si: dh32,
                b_so: nt32 * d32,
                b_si: dh32,
                c_so: heads as u32 * nt32 * ld32,
                c_si: nt32 * ld32,
                alpha: p.scale,
                ..per_head(nt32, nt32, dh32, d32, d32, ld32)
            },
        }
        .record(rec);
        let kernel = rec.gpu.cache.get(
            &rec.gpu.ctx.device,
            "mssa",
            SOURCE,
            "softmax_reg",
            &BINDS,
            &consts,
        );
        let bufs = vec![
            w.clone(),
            dummy.clone(),
            pr.clone(),
            cls.map_or(&dummy2, |c| c.0).clone(),
        ];
        rec.dispatch(
            kernel,
            bufs,
            bytemuck::bytes_of(&p),
            super::groups_1d(b * heads * nt, 64),
        );
        Matmul {
            a: &pr,
            b: w,
            c: o,
            bias: None,
            extra: None,
            trans_b: false,
            relu: false,
            batch: (b * heads) as u32,
            params: MatmulParams {
                a_so: heads as u32 * nt32 * ld32,
                a_si: nt32 * ld32,
                b_so: nt32 * d32,
                b_si: dh32,
                c_so: nt32 * d32,
                c_si: dh32,
                ..per_head(nt32, dh32, nt32, ld32, d32, d32)
            },
        }
        .record(rec);
        return Ok(());
    }
    // Four query rows per workgroup where their scores fit in workgroup memory.
    let q4 = nt <= MAX_TOKENS_Q4;
    let entry = if q4 { "main_q4" } else { "main" };
    let kernel = rec
        .gpu
        .cache
        .get(&rec.gpu.ctx.device, "mssa", SOURCE, entry, &BINDS, &consts);
    let bufs = vec![
        w.clone(),
        o.clone(),
        probs.unwrap_or(&dummy).clone(),
        cls.map_or(&dummy2, |c| c.0).clone(),
    ];
    rec.dispatch(
        kernel,
        bufs,
        bytemuck::bytes_of(&p),
        [
            if q4 { nt.div_ceil(4) } else { nt } as u32,
            heads as u32,
            b as u32,
        ],
    );
    Ok(())
}
