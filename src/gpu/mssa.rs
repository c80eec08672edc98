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
    // The matmul-based path (written for CPU adapters) has no token limit: past the tiled
    // kernel's (CRATE-B/8 at 448, 3,137 tokens) every adapter takes it.
    let reg = rec.gpu.reg_kernels || nt > MAX_TOKENS;
    if dh > MAX_HEAD_DIM {
        return Err(Error::Gpu(format!(
            "MSSA kernel supports a head dim of at most {MAX_HEAD_DIM} (got {dh})"
        )));
    }
    let write = probs.is_some();
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
        let ld = if probs.is_some() {
            nt
        } else {
            nt.next_multiple_of(4)
        };
        // A scratch larger than one binding (CRATE-B/8 at 448: 6 × 3137² floats) is filled one
        // group of heads of one image at a time; otherwise every image and head at once.
        let group = match probs {
            Some(_) => None,
            None => scratch_group(b, heads, nt * ld, rec.gpu.ctx.max_binding()),
        };
        let (pr, ld) = match (probs, group) {
            (Some(pr), _) => (pr.clone(), nt),
            (None, None) => (rec.scratch("mssa.probs", b * heads * nt * ld), ld),
            (None, Some(g)) => (rec.scratch("mssa.probs", g * nt * ld), ld),
        };
        p.ld = ld as u32;
        // (first image, first head, images, heads) of each pass.
        let passes: Vec<(usize, usize, usize, usize)> = match group {
            None => vec![(0, 0, b, heads)],
            Some(g) => (0..b)
                .flat_map(|bi| (0..heads).step_by(g).map(move |k0| (bi, k0, 1, g)))
                .collect(),
        };
        for (bi, k0, nb, nh) in passes {
            reg_pass(rec, w, o, &pr, cls, &p, [bi, k0, nb, nh], dims, (ld, write))?;
        }
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

/// The largest number of heads, dividing `heads`, whose scratch probabilities (`per_head`
/// floats each) fit one binding; None when all `b × heads` fit at once. At least one head.
fn scratch_group(b: usize, heads: usize, per_head: usize, max_binding: u64) -> Option<usize> {
    let bytes = |n: usize| (n * per_head) as u64 * 4;
    if bytes(b * heads) <= max_binding {
        return None;
    }
    Some(
        (1..=heads)
            .rev()
            .find(|g| heads.is_multiple_of(*g) && bytes(*g) <= max_binding)
            .unwrap_or(1),
    )
}

/// One pass of the CPU-adapter attention over images `bi..bi+nb` and heads `k0..k0+nh` (either
/// every image and head, or one group of heads of one image): scores into `pr`, the softmax in
/// place (CLS rows out), then `pr` × the projections into `o`.
#[allow(clippy::too_many_arguments)]
fn reg_pass(
    rec: &mut Recorder,
    w: &wgpu::Buffer,
    o: &wgpu::Buffer,
    pr: &wgpu::Buffer,
    cls: Option<(&wgpu::Buffer, usize)>,
    base: &MssaParams,
    [bi, k0, nb, nh]: [usize; 4],
    dims: Dims,
    (ld, write): (usize, bool),
) -> Result<()> {
    let Dims { nt, d, heads, .. } = dims;
    let dh = d / heads;
    let dummy2 = rec.dummy_rw2();
    let mut p = *base;
    p.heads = nh as u32;
    p.batch = nb as u32;
    // The CLS rows are (B, K, N): this pass's first row is image bi's head k0.
    p.cls_off = base.cls_off + ((bi * heads + k0) * nt) as u32;
    let ld32 = ld as u32;
    // Where this pass's projections start in w and o (B*N, d): image bi, head k0's columns.
    let wo_off = (bi * nt * d + k0 * dh) as u32;
    let per_head = |m, n, k, lda, ldb, ldc| MatmulParams {
        m,
        n,
        k,
        batch_inner: nh as u32,
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
        c: pr,
        bias: None,
        extra: None,
        trans_b: true,
        relu: false,
        batch: (nb * nh) as u32,
        params: MatmulParams {
            a_off: wo_off,
            b_off: wo_off,
            a_so: nt32 * d32,
            a_si: dh32,
            b_so: nt32 * d32,
            b_si: dh32,
            c_so: nh as u32 * nt32 * ld32,
            c_si: nt32 * ld32,
            alpha: base.scale,
            ..per_head(nt32, nt32, dh32, d32, d32, ld32)
        },
    }
    .record(rec);
    let consts = [
        ("WRITE_PROBS", write as u8 as f64),
        ("WRITE_CLS", cls.is_some() as u8 as f64),
    ];
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
        rec.dummy_rw(),
        pr.clone(),
        cls.map_or(&dummy2, |c| c.0).clone(),
    ];
    rec.dispatch(
        kernel,
        bufs,
        bytemuck::bytes_of(&p),
        super::groups_1d(nb * nh * nt, 64),
    );
    Matmul {
        a: pr,
        b: w,
        c: o,
        bias: None,
        extra: None,
        trans_b: false,
        relu: false,
        batch: (nb * nh) as u32,
        params: MatmulParams {
            b_off: wo_off,
            c_off: wo_off,
            a_so: nh as u32 * nt32 * ld32,
            a_si: nt32 * ld32,
            b_so: nt32 * d32,
            b_si: dh32,
            c_so: nt32 * d32,
            c_si: dh32,
            ..per_head(nt32, dh32, nt32, ld32, d32, d32)
        },
    }
    .record(rec);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::scratch_group;

    #[test]
    fn scratch_groups_fit_one_binding() {
        let mib128 = 128 << 20;
        // CRATE-B/8 at 448: 3137 × 3140 floats per head (39 MB); 6 heads (236 MB) do not fit
        // 128 MiB, three (118 MB) do.
        assert_eq!(scratch_group(1, 6, 3137 * 3140, mib128), Some(3));
        // At 224 everything fits at once: the single pass as before.
        assert_eq!(scratch_group(1, 6, 785 * 788, mib128), None);
        // Groups divide the head count; one head at least.
        assert_eq!(scratch_group(1, 6, 3137 * 3140, 80 << 20), Some(2));
        assert_eq!(scratch_group(2, 4, 10, 4), Some(1));
    }
}
