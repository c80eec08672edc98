//! Wrapper of `shaders/matmul_backward.wgsl`: `C (+)= alpha A^T·B` and column sums; on
//! CPU-emulated adapters the product runs `shaders/matmul_backward_reg.wgsl` (register-blocked,
//! no workgroup memory) when its operands are vec4-aligned.

use bytemuck::{Pod, Zeroable};

use crate::gpu::pool::{Bind, Kernel};
use crate::gpu::{groups_1d, Recorder};

pub(crate) const SOURCE: &str = include_str!(concat!(env!("OUT_DIR"), "/matmul_backward.wgsl"));
pub(crate) const REG_SOURCE: &str =
    include_str!(concat!(env!("OUT_DIR"), "/matmul_backward_reg.wgsl"));
/// `tn_reg`'s subgroup form; the web build has the `enable` directive naga 30 rejects (see
/// `crate::gpu::matmul::SOURCE_SG`).
#[cfg(not(target_arch = "wasm32"))]
pub(crate) const REG_SG_SOURCE: &str =
    include_str!(concat!(env!("OUT_DIR"), "/matmul_backward_sg.wgsl"));
#[cfg(target_arch = "wasm32")]
pub(crate) const REG_SG_SOURCE: &str = concat!(
    "enable subgroups;\n",
    include_str!(concat!(env!("OUT_DIR"), "/matmul_backward_sg.wgsl"))
);
const BINDS: [Bind; 4] = [Bind::Read, Bind::Read, Bind::ReadWrite, Bind::Uniform];
const TILE: u32 = 32;
/// Outputs per side of a `tn_reg` workgroup (8×8 invocations of 8×8 blocks).
const REG_TILE: u32 = 64;

/// The shader's `Params`; offsets and leading dimensions in f32.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Pod, Zeroable)]
pub struct TnParams {
    pub m: u32,
    pub n: u32,
    pub k: u32,
    pub lda: u32,
    pub ldb: u32,
    pub ldc: u32,
    pub a_off: u32,
    pub b_off: u32,
    pub c_off: u32,
    pub alpha: f32,
    /// Split-K: rows of k per workgroup z (0: one pass).
    pub ksplit: u32,
    /// Column sums: rows per workgroup z (0: one pass).
    pub rsplit: u32,
}

#[cfg(test)]
crate::gpu::shaders::params_layout!(
    TnParams,
    [m, n, k, lda, ldb, ldc, a_off, b_off, c_off, alpha, ksplit, rsplit]
);

/// Rows of k (or of a column sum) per split when a scratch buffer allows splitting.
const SPLIT_ROWS: usize = 256;
/// At most this many partial products per split matmul.
pub const MAX_SPLITS: usize = 16;

/// `c[c_off..] (+)= alpha * a^T b` for a (k, m) and b (k, n), contiguous; c (m, n).
#[derive(Clone, Copy)]
pub struct Tn<'a> {
    pub a: &'a wgpu::Buffer,
    pub b: &'a wgpu::Buffer,
    pub c: &'a wgpu::Buffer,
    pub c_off: usize,
    pub m: usize,
    pub n: usize,
    pub k: usize,
    pub alpha: f32,
    pub accum: bool,
}

impl Tn<'_> {
    /// One pass: a workgroup per 32×32 tile of c.
    pub fn record(&self, rec: &mut Recorder) {
        tn(rec, self);
    }

    /// Split over k when k is long and `scratch` holds the partial products: up to
    /// [`MAX_SPLITS`] workgroup layers each sum a slice of k into `scratch`, then a column sum
    /// adds them into `c` (with `alpha` and `accum`).
    pub fn record_split(&self, rec: &mut Recorder, scratch: &wgpu::Buffer) {
        tn_split(rec, self, scratch);
    }
}

fn tn_split(rec: &mut Recorder, t: &Tn, scratch: &wgpu::Buffer) {
    let Tn {
        a,
        b,
        c,
        c_off,
        m,
        n,
        k,
        alpha,
        accum,
    } = *t;
    let room = (scratch.size() / 4) as usize / (m * n).max(1);
    let splits = k.div_ceil(SPLIT_ROWS).min(MAX_SPLITS).min(room);
    if splits <= 1 {
        return tn(rec, t);
    }
    let (kernel, tile) = tn_kernel(rec, m, n, false);
    let p = TnParams {
        m: m as u32,
        n: n as u32,
        k: k as u32,
        lda: m as u32,
        ldb: n as u32,
        ldc: n as u32,
        alpha: 1.0,
        ksplit: k.div_ceil(splits) as u32,
        ..Default::default()
    };
    let groups = [
        (n as u32).div_ceil(tile),
        (m as u32).div_ceil(tile),
        splits as u32,
    ];
    rec.dispatch(
        kernel,
        vec![a.clone(), b.clone(), scratch.clone()],
        bytemuck::bytes_of(&p),
        groups,
    );
    ColSum {
        a: scratch,
        a_off: 0,
        ld: m * n,
        b: None,
        out: c,
        out_off: c_off,
        rows: splits,
        cols: m * n,
        alpha,
        accum,
        scratch: None,
    }
    .record(rec);
}

fn tn(rec: &mut Recorder, t: &Tn) {
    let Tn {
        a,
        b,
        c,
        c_off,
        m,
        n,
        k,
        alpha,
        accum,
    } = *t;
    let (kernel, tile) = tn_kernel(rec, m, n, accum);
    let p = TnParams {
        m: m as u32,
        n: n as u32,
        k: k as u32,
        lda: m as u32,
        ldb: n as u32,
        ldc: n as u32,
        c_off: c_off as u32,
        alpha,
        ..Default::default()
    };
    let groups = [(n as u32).div_ceil(tile), (m as u32).div_ceil(tile), 1];
    rec.dispatch(
        kernel,
        vec![a.clone(), b.clone(), c.clone()],
        bytemuck::bytes_of(&p),
        groups,
    );
}

/// The product's kernel and its output tile side: `tn_reg` (or its subgroup form
/// `tn_sg8`, see [`crate::gpu::Gpu::subgroups`]) on CPU-emulated adapters when
/// m and n are multiples of 4 (A and B are contiguous, (k, m) and (k, n), from offset 0, so
/// their rows are then vec4-aligned), otherwise the tiled `tn`.
fn tn_kernel(rec: &mut Recorder, m: usize, n: usize, accum: bool) -> (Kernel, u32) {
    let consts = [("ACCUM", accum as u8 as f64)];
    let device = &rec.gpu.ctx.device;
    if rec.gpu.reg_kernels && m.is_multiple_of(4) && n.is_multiple_of(4) {
        let (name, source, entry) = match rec.gpu.subgroups {
            Some(_) => ("matmul_backward_sg", REG_SG_SOURCE, "tn_sg8"),
            None => ("matmul_backward_reg", REG_SOURCE, "tn_reg"),
        };
        let k = rec
            .gpu
            .cache
            .get(device, name, source, entry, &BINDS, &consts);
        (k, REG_TILE)
    } else {
        let k = rec
            .gpu
            .cache
            .get(device, "matmul_backward", SOURCE, "tn", &BINDS, &consts);
        (k, TILE)
    }
}

/// A column sum: `out[out_off + c] (+)= alpha * sum_{r < rows} a[a_off + r*ld + c] (* b[r*cols + c])`
/// for c < cols; `b`, when given, is contiguous (rows, cols).
pub struct ColSum<'a> {
    pub a: &'a wgpu::Buffer,
    pub a_off: usize,
    pub ld: usize,
    pub b: Option<&'a wgpu::Buffer>,
    pub out: &'a wgpu::Buffer,
    pub out_off: usize,
    pub rows: usize,
    pub cols: usize,
    pub alpha: f32,
    pub accum: bool,
    /// When given and the rows are many, a first pass sums chunks of rows into it and a second
    /// pass sums the chunks (so long columns still spread over many workgroups).
    pub scratch: Option<&'a wgpu::Buffer>,
}

impl ColSum<'_> {
    pub fn record(&self, rec: &mut Recorder) {
        let chunks = match self.scratch {
            Some(s) => self
                .rows
                .div_ceil(SPLIT_ROWS)
                .min((s.size() / 4) as usize / self.cols.max(1)),
            None => 1,
        };
        if chunks > 1 {
            let scratch = self.scratch.expect("chunks > 1 needs scratch");
            // Rows per chunk so that `chunks` chunks cover every row (the scratch may cap `chunks`).
            let per = self.rows.div_ceil(chunks);
            self.pass(rec, scratch, 0, 1.0, false, per, chunks);
            ColSum {
                a: scratch,
                a_off: 0,
                ld: self.cols,
                b: None,
                out: self.out,
                out_off: self.out_off,
                rows: chunks,
                cols: self.cols,
                alpha: self.alpha,
                accum: self.accum,
                scratch: None,
            }
            .record(rec);
        } else {
            self.pass(rec, self.out, self.out_off, self.alpha, self.accum, 0, 1);
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn pass(
        &self,
        rec: &mut Recorder,
        out: &wgpu::Buffer,
        out_off: usize,
        alpha: f32,
        accum: bool,
        rsplit: usize,
        chunks: usize,
    ) {
        let kernel = rec.gpu.cache.get(
            &rec.gpu.ctx.device,
            "matmul_backward",
            SOURCE,
            "colsum",
            &BINDS,
            &[
                ("ACCUM", accum as u8 as f64),
                ("HAS_B", self.b.is_some() as u8 as f64),
            ],
        );
        let p = TnParams {
            n: self.cols as u32,
            k: self.rows as u32,
            lda: self.ld as u32,
            ldb: self.cols as u32,
            a_off: self.a_off as u32,
            c_off: out_off as u32,
            alpha,
            rsplit: rsplit as u32,
            ..Default::default()
        };
        let dummy = rec.dummy_read();
        rec.dispatch(
            kernel,
            vec![
                self.a.clone(),
                self.b.unwrap_or(&dummy).clone(),
                out.clone(),
            ],
            bytemuck::bytes_of(&p),
            {
                let [x, y, _] = groups_1d(self.cols, 64);
                [x, y, chunks as u32]
            },
        );
    }
}

/// The gradients of `y = x W^T (+ b)` for x (rows, inp), W (out, inp): `dW = dy^T x` into
/// `grads[w_off..]`, `db = sum_rows dy` into `grads[b_off..]` when given, and `dx = dy W` when
/// given (the forward's matmul, B not transposed). With `scratch`, the weight gradient is split
/// over the rows ([`Tn::record_split`]) and the bias sum runs in two passes.
pub struct LinearBackward<'a> {
    /// The forward's input (rows, inp) and weight (out, inp).
    pub x: &'a wgpu::Buffer,
    pub w: &'a wgpu::Buffer,
    pub dy: &'a wgpu::Buffer,
    pub dx: Option<&'a wgpu::Buffer>,
    pub grads: &'a wgpu::Buffer,
    pub w_off: usize,
    pub b_off: Option<usize>,
    /// `[rows, out, inp]`.
    pub shape: [usize; 3],
    pub scratch: Option<&'a wgpu::Buffer>,
}

impl LinearBackward<'_> {
    pub fn record(&self, rec: &mut Recorder) {
        linear_backward(rec, self);
    }
}

fn linear_backward(rec: &mut Recorder, lb: &LinearBackward) {
    let LinearBackward {
        x,
        w,
        dy,
        dx,
        grads,
        w_off,
        b_off,
        shape: [rows, out, inp],
        scratch,
    } = *lb;
    let dw = Tn {
        a: dy,
        b: x,
        c: grads,
        c_off: w_off,
        m: out,
        n: inp,
        k: rows,
        alpha: 1.0,
        accum: false,
    };
    match scratch {
        Some(s) => dw.record_split(rec, s),
        None => dw.record(rec),
    }
    if let Some(bo) = b_off {
        ColSum {
            a: dy,
            a_off: 0,
            ld: out,
            b: None,
            out: grads,
            out_off: bo,
            rows,
            cols: out,
            alpha: 1.0,
            accum: false,
            scratch,
        }
        .record(rec);
    }
    if let Some(dx) = dx {
        use crate::gpu::matmul::{Matmul, MatmulParams};
        Matmul {
            a: dy,
            b: w,
            c: dx,
            bias: None,
            extra: None,
            trans_b: false,
            relu: false,
            batch: 1,
            params: MatmulParams::dense(rows, inp, out, false),
        }
        .record(rec);
    }
}
