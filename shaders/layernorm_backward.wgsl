// LayerNorm backward, one 64-thread workgroup per row (the twin of layernorm.wgsl).
// The row's mean and 1/sqrt(var + eps) are recomputed from the saved input x (two passes, as
// the forward); xhat = (x - mean) * inv is written (contiguous, rows × dim) for the gamma
// gradient (a column sum of dy ⊙ xhat, done by matmul_backward.wgsl's `colsum`), and, when
// WRITE_DX, dx = inv * (g - mean(g) - xhat * mean(g ⊙ xhat)) with g = dy ⊙ gamma, plus the
// residual gradient `resid` (indexed like dx) when HAS_RESID.
// Strides and offsets let the head read the CLS rows of a (B, N, d) state in place.

override WRITE_DX: bool = true;
override HAS_RESID: bool = false;

struct Params {
    rows: u32, dim: u32, x_stride: u32, x_off: u32,
    dy_stride: u32, dy_off: u32, dx_stride: u32, dx_off: u32,
    eps: f32, pad0: u32, pad1: u32, pad2: u32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> gamma: array<f32>;
@group(0) @binding(2) var<storage, read> dy: array<f32>;
@group(0) @binding(3) var<storage, read> resid: array<f32>;
@group(0) @binding(4) var<storage, read_write> dx: array<f32>;
@group(0) @binding(5) var<storage, read_write> xhat: array<f32>;
@group(0) @binding(6) var<uniform> p: Params;

//! include common/layernorm_stats.wgsl
//! include common/index.wgsl

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(workgroup_id) wid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
    let row = flat_group(wid, nwg);
    if (row >= p.rows) {
        return;
    }
    let xi = p.x_off + row * p.x_stride;
    let yi = p.dy_off + row * p.dy_stride;
    let hi = row * p.dim;
    let n = f32(p.dim);
    let st = row_stats(xi, li);
    let mean = st.x;
    let inv = st.y;
    var m1 = 0.0;
    var m2 = 0.0;
    for (var c = li; c < p.dim; c += WG) {
        let h = (x[xi + c] - mean) * inv;
        xhat[hi + c] = h;
        let g = dy[yi + c] * gamma[c];
        m1 += g;
        m2 += g * h;
    }
    if (!WRITE_DX) {
        return;
    }
    m1 = reduce_sum(m1, li) / n;
    m2 = reduce_sum(m2, li) / n;
    let oi = p.dx_off + row * p.dx_stride;
    for (var c = li; c < p.dim; c += WG) {
        let h = (x[xi + c] - mean) * inv;
        var v = inv * (dy[yi + c] * gamma[c] - m1 - h * m2);
        if (HAS_RESID) {
            v += resid[oi + c];
        }
        dx[oi + c] = v;
    }
}

// For CPU-emulated adapters, where workgroup barriers are costly: one invocation per row, the
// same passes, no workgroup memory (the statistics exactly as layernorm.wgsl's `main_reg`).
@compute @workgroup_size(64, 1, 1)
fn main_reg(@builtin(global_invocation_id) gid: vec3<u32>,
            @builtin(num_workgroups) nwg: vec3<u32>) {
    let row = flat_global(gid, nwg);
    if (row >= p.rows) {
        return;
    }
    let xi = p.x_off + row * p.x_stride;
    let yi = p.dy_off + row * p.dy_stride;
    let hi = row * p.dim;
    let n = f32(p.dim);
    let st = row_stats_serial(xi);
    let mean = st.x;
    let inv = st.y;
    var m1 = 0.0;
    var m2 = 0.0;
    for (var c = 0u; c < p.dim; c++) {
        let h = (x[xi + c] - mean) * inv;
        xhat[hi + c] = h;
        let g = dy[yi + c] * gamma[c];
        m1 += g;
        m2 += g * h;
    }
    if (!WRITE_DX) {
        return;
    }
    m1 /= n;
    m2 /= n;
    let oi = p.dx_off + row * p.dx_stride;
    for (var c = 0u; c < p.dim; c++) {
        var v = inv * (dy[yi + c] * gamma[c] - m1 - xhat[hi + c] * m2);
        if (HAS_RESID) {
            v += resid[oi + c];
        }
        dx[oi + c] = v;
    }
}
