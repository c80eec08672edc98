// LayerNorm over rows (biased variance, eps from the params), one 64-thread workgroup per row,
// two passes (mean, then squared deviations) as the CPU engine does. Rows are read at
// in_off + r*in_stride and written at out_off + r*out_stride, so the head can normalise only
// the CLS rows of a (B, N, d) state.

struct Params {
    rows: u32, dim: u32, in_stride: u32, out_stride: u32,
    in_off: u32, out_off: u32, eps: f32, pad0: u32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> gamma: array<f32>;
@group(0) @binding(2) var<storage, read> beta: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
@group(0) @binding(4) var<uniform> p: Params;

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
    let xi = p.in_off + row * p.in_stride;
    let yi = p.out_off + row * p.out_stride;
    let st = row_stats(xi, li);
    let mean = st.x;
    let inv = st.y;
    for (var c = li; c < p.dim; c += WG) {
        y[yi + c] = (x[xi + c] - mean) * inv * gamma[c] + beta[c];
    }
}

// For CPU-emulated adapters, where workgroup barriers are costly: one invocation per row, the
// same two passes, no workgroup memory.
@compute @workgroup_size(64, 1, 1)
fn main_reg(@builtin(global_invocation_id) gid: vec3<u32>,
            @builtin(num_workgroups) nwg: vec3<u32>) {
    let row = flat_global(gid, nwg);
    if (row >= p.rows) {
        return;
    }
    let xi = p.in_off + row * p.in_stride;
    let yi = p.out_off + row * p.out_stride;
    let st = row_stats_serial(xi);
    let mean = st.x;
    let inv = st.y;
    for (var c = 0u; c < p.dim; c++) {
        y[yi + c] = (x[xi + c] - mean) * inv * gamma[c] + beta[c];
    }
}
