//! Wrapper of `shaders/matmul.wgsl`: tiled, batched matmul with fused epilogues.

use bytemuck::{Pod, Zeroable};

use super::pool::Bind;
use super::Recorder;

pub(crate) const SOURCE: &str = include_str!(concat!(env!("OUT_DIR"), "/matmul.wgsl"));
/// The subgroup forms of the 16×8 and 32×8 register blocks (need the adapter's `subgroups`
/// feature).
/// Browsers require the `enable` directive, which naga 30 rejects, so only the web build has it.
#[cfg(not(target_arch = "wasm32"))]
pub(crate) const SOURCE_SG: &str = include_str!(concat!(env!("OUT_DIR"), "/matmul_sg.wgsl"));
#[cfg(target_arch = "wasm32")]
pub(crate) const SOURCE_SG: &str = concat!(
    "enable subgroups;\n",
    include_str!(concat!(env!("OUT_DIR"), "/matmul_sg.wgsl"))
);
const BINDS: [Bind; 8] = [
    Bind::Read,      // a
    Bind::Read,      // b
    Bind::Read,      // bias
    Bind::Read,      // extra
    Bind::Read,      // a4: a as vec4
    Bind::Read,      // b4: b as vec4
    Bind::ReadWrite, // c
    Bind::Uniform,   // params
];
/// Output tile side (rows and columns per workgroup).
pub const TILE: u32 = 32;

/// The register block's height for a product of `m` rows on CPU-emulated adapters: 32 rows
/// per invocation from 1024 rows on, 16 below. A workgroup covers 32 rows × 64 columns either
/// way (16 invocations of 16 rows, or 8 of 32). Measured on lavapipe with subgroups,
/// 2026-12-01: 1024³ 54–56 → 75–77 GFLOP/s, crate-fmnist's products at batch 32 (1600 rows)
/// 46–47 → 55–56, CRATE-T's forward at batch 8 (1576 rows) 591–626 → 547–579 ms; but at
/// batch 1 (197 rows) 95–98 → 104–131 ms, so small products keep 16 rows.
pub fn auto_block(m: u32) -> u32 {
    if m >= 1024 {
        32
    } else {
        16
    }
}

/// The shader's `Params`, field for field. Offsets, strides and leading dimensions are in f32.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Pod, Zeroable)]
pub struct MatmulParams {
    pub m: u32,
    pub n: u32,
    pub k: u32,
    pub batch_inner: u32,
    pub lda: u32,
    pub ldb: u32,
    pub ldc: u32,
    pub lde: u32,
    pub a_off: u32,
    pub b_off: u32,
    pub c_off: u32,
    pub e_off: u32,
    pub a_so: u32,
    pub a_si: u32,
    pub b_so: u32,
    pub b_si: u32,
    pub c_so: u32,
    pub c_si: u32,
    pub e_so: u32,
    pub e_si: u32,
    pub alpha: f32,
    pub shift: f32,
    pub pad0: u32,
    pub pad1: u32,
}

#[cfg(test)]
crate::gpu::shaders::params_layout!(
    MatmulParams,
    [
        m,
        n,
        k,
        batch_inner,
        lda,
        ldb,
        ldc,
        lde,
        a_off,
        b_off,
        c_off,
        e_off,
        a_so,
        a_si,
        b_so,
        b_si,
        c_so,
        c_si,
        e_so,
        e_si,
        alpha,
        shift,
        pad0,
        pad1
    ]
);

impl MatmulParams {
    /// Whether A and B can be loaded as vec4: every offset, stride and leading dimension a
    /// multiple of 4, and the contiguous extent too (k for A and B^T; n for B).
    pub fn vec4_ok(&self, trans_b: bool) -> bool {
        let b_extent = if trans_b { self.k } else { self.n };
        [
            self.k, b_extent, self.lda, self.ldb, self.a_off, self.b_off, self.a_so, self.a_si,
            self.b_so, self.b_si,
        ]
        .iter()
        .all(|v| v % 4 == 0)
    }

    /// Whether rows of B start on vec4 boundaries and, when B is not transposed, n is a
    /// multiple of 4 (what the register-blocked kernels for CPU adapters need; unlike
    /// [`MatmulParams::vec4_ok`], k may be any size).
    pub fn b_rows_vec4_ok(&self, trans_b: bool) -> bool {
        (trans_b || self.n.is_multiple_of(4))
            && [self.ldb, self.b_off, self.b_so, self.b_si]
                .iter()
                .all(|v| v.is_multiple_of(4))
    }

    /// Whether rows of A start on vec4 boundaries (the register-blocked kernels' `A_ROWS4`:
    /// otherwise they read A four scalars at a time).
    pub fn a_rows_vec4_ok(&self) -> bool {
        [self.lda, self.a_off, self.a_so, self.a_si]
            .iter()
            .all(|v| v.is_multiple_of(4))
    }

    /// A single dense product (m, k)·(n, k)^T or (m, k)·(k, n) on contiguous row-major
    /// operands, alpha = 1, no shift.
    pub fn dense(m: usize, n: usize, k: usize, trans_b: bool) -> Self {
        Self {
            m: m as u32,
            n: n as u32,
            k: k as u32,
            batch_inner: 1,
            lda: k as u32,
            ldb: if trans_b { k } else { n } as u32,
            ldc: n as u32,
            lde: n as u32,
            alpha: 1.0,
            ..Default::default()
        }
    }
}

/// One matmul: `c = epilogue(alpha * a·op(b))`, `batch` products along workgroup z.
pub struct Matmul<'a> {
    pub a: &'a wgpu::Buffer,
    pub b: &'a wgpu::Buffer,
    pub c: &'a wgpu::Buffer,
    /// Added per output column (length n).
    pub bias: Option<&'a wgpu::Buffer>,
    /// Added per output element, addressed like c with `lde` and the e_* offsets.
    pub extra: Option<&'a wgpu::Buffer>,
    /// B is (n, k) (the F.linear form) rather than (k, n).
    pub trans_b: bool,
    pub relu: bool,
    pub batch: u32,
    pub params: MatmulParams,
}

impl Matmul<'_> {
    pub fn record(&self, rec: &mut Recorder) {
        let vec4 = self.params.vec4_ok(self.trans_b);
        let consts = [
            ("TRANS_B", self.trans_b as u8 as f64),
            ("HAS_BIAS", self.bias.is_some() as u8 as f64),
            ("HAS_EXTRA", self.extra.is_some() as u8 as f64),
            ("RELU", self.relu as u8 as f64),
            ("VEC4", vec4 as u8 as f64),
            ("A_ROWS4", self.params.a_rows_vec4_ok() as u8 as f64),
        ];
        let (name, source, entry) = match (
            rec.gpu.reg_kernels,
            self.params.b_rows_vec4_ok(self.trans_b),
        ) {
            (false, _) => ("matmul", SOURCE, "main"),
            (true, false) => ("matmul", SOURCE, "main_reg"),
            (true, true) => match (
                rec.gpu.reg_block.unwrap_or(auto_block(self.params.m)),
                rec.gpu.subgroups,
            ) {
                (8, _) => ("matmul", SOURCE, "main_reg8"),
                (32, Some(_)) => ("matmul_sg", SOURCE_SG, "main_sg8_32"),
                (32, None) => ("matmul", SOURCE, "main_reg32"),
                (_, Some(_)) => ("matmul_sg", SOURCE_SG, "main_sg8"),
                (_, None) => ("matmul", SOURCE, "main_reg16"),
            },
        };
        let kernel = rec
            .gpu
            .cache
            .get(&rec.gpu.ctx.device, name, source, entry, &BINDS, &consts);
        let dummy = rec.dummy_read();
        let bufs = vec![
            self.a.clone(),
            self.b.clone(),
            self.bias.unwrap_or(&dummy).clone(),
            self.extra.unwrap_or(&dummy).clone(),
            self.a.clone(),
            self.b.clone(),
            self.c.clone(),
        ];
        let p = &self.params;
        let groups = if entry != "main" && entry != "main_reg" {
            [p.n.div_ceil(64), p.m.div_ceil(32), self.batch.max(1)]
        } else {
            [p.n.div_ceil(TILE), p.m.div_ceil(TILE), self.batch.max(1)]
        };
        rec.dispatch(kernel, bufs, bytemuck::bytes_of(p), groups);
    }
}

/// `y = x w^T + bias`: F.linear on (rows, inp) by (out, inp).
pub fn linear(
    rec: &mut Recorder,
    x: &wgpu::Buffer,
    w: &wgpu::Buffer,
    bias: Option<&wgpu::Buffer>,
    y: &wgpu::Buffer,
    [rows, out, inp]: [usize; 3],
) {
    Matmul {
        a: x,
        b: w,
        c: y,
        bias,
        extra: None,
        trans_b: true,
        relu: false,
        batch: 1,
        params: MatmulParams::dense(rows, out, inp, true),
    }
    .record(rec);
}
