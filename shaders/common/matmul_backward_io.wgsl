// What the register-blocked weight-gradient kernels share (matmul_backward_reg.wgsl, and
// matmul_backward_sg.wgsl for adapters with subgroups): see matmul_backward_reg.wgsl.

override ACCUM: bool = false;

struct Params {
    m: u32, n: u32, k: u32, lda: u32,
    ldb: u32, ldc: u32, a_off: u32, b_off: u32,
    c_off: u32, alpha: f32, ksplit: u32, rsplit: u32,
}

@group(0) @binding(0) var<storage, read> a4: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> b4: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> c: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

fn store4(c0: u32, row: u32, col: u32, v: vec4<f32>) {
    if (row >= p.m || col >= p.n) {
        return;
    }
    let idx = c0 + row * p.ldc + col;
    var o = p.alpha * v;
    if (ACCUM) {
        o += vec4<f32>(c[idx], c[idx + 1u], c[idx + 2u], c[idx + 3u]);
    }
    c[idx] = o.x;
    c[idx + 1u] = o.y;
    c[idx + 2u] = o.z;
    c[idx + 3u] = o.w;
}
