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

// Over columns start, start + step, …: writes xhat and returns this invocation's share of
// (Σ g, Σ g ⊙ xhat), g = dy ⊙ gamma.
fn xhat_and_sums(xi: u32, yi: u32, hi: u32, st: vec2<f32>, start: u32, step: u32) -> vec2<f32> {
    var m = vec2(0.0);
    for (var c = start; c < p.dim; c += step) {
        let h = (x[xi + c] - st.x) * st.y;
        xhat[hi + c] = h;
        let g = dy[yi + c] * gamma[c];
        m += vec2(g, g * h);
    }
    return m;
}

// Over the same columns: dx = inv * (g - mean(g) - xhat * mean(g ⊙ xhat)) (+ resid), with
// `means` = (mean(g), mean(g ⊙ xhat)).
fn write_dx(xi: u32, yi: u32, oi: u32, st: vec2<f32>, means: vec2<f32>, start: u32, step: u32) {
    for (var c = start; c < p.dim; c += step) {
        let h = (x[xi + c] - st.x) * st.y;
        var v = st.y * (dy[yi + c] * gamma[c] - means.x - h * means.y);
        if (HAS_RESID) {
            v += resid[oi + c];
        }
        dx[oi + c] = v;
    }
}

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
    let st = row_stats(xi, li);
    let m = xhat_and_sums(xi, yi, row * p.dim, st, li, WG);
    if (!WRITE_DX) {
        return;
    }
    let means = vec2(reduce_sum(m.x, li), reduce_sum(m.y, li)) / f32(p.dim);
    write_dx(xi, yi, p.dx_off + row * p.dx_stride, st, means, li, WG);
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
    let st = row_stats_serial(xi);
    let m = xhat_and_sums(xi, yi, row * p.dim, st, 0u, 1u);
    if (!WRITE_DX) {
        return;
    }
    write_dx(xi, yi, p.dx_off + row * p.dx_stride, st, m / f32(p.dim), 0u, 1u);
}
