// The parameters, bindings and shared steps of the MSSA backward's register kernels
// (mssa_backward_reg.wgsl, and mssa_backward_sg.wgsl for adapters with subgroups of 8): see
// mssa_backward_reg.wgsl.

struct Params {
    nt: u32, d: u32, dh: u32, heads: u32,
    scale: f32, pad0: u32, pad1: u32, pad2: u32,
}

@group(0) @binding(0) var<storage, read> w4: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> probs: array<f32>;
@group(0) @binding(2) var<storage, read> dout4: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> ds: array<f32>;
@group(0) @binding(4) var<storage, read_write> dw: array<f32>;
@group(0) @binding(5) var<uniform> p: Params;

// Where query token i of head k of image b lies: the vec4 offset of the head's token 0 (base)
// and of token i (oi) in w and dout, and the offset of row i of the head's A and dS (prow).
struct QueryRow {
    base: u32, oi: u32, prow: u32,
}

fn query_row(i: u32, k: u32, b: u32) -> QueryRow {
    let d4 = p.d / 4u;
    let base = b * p.nt * d4 + k * (p.dh / 4u);
    return QueryRow(base, base + i * d4, ((b * p.heads + k) * p.nt + i) * p.nt);
}

// What both forms compute the same way (so the same bits):
// dA[i, j] from its vec4 of partial sums, stored in row prow of ds (when live) and added, times
// A[i, j], to dot = rowsum(dA ⊙ A): the new dot;
fn keep_da(live: bool, prow: u32, j: u32, acc: vec4<f32>, dot: f32) -> f32 {
    let da = acc.x + acc.y + acc.z + acc.w;
    if (live) {
        ds[prow + j] = da;
    }
    return fma(da, probs[prow + j], dot);
}

// row prow of dS from dA (stored there) and dot = rowsum(dA ⊙ A): dS = A ⊙ (dA - dot) * scale;
fn rescale_ds_row(prow: u32, dot: f32) {
    for (var j = 0u; j < p.nt; j++) {
        ds[prow + j] = probs[prow + j] * (ds[prow + j] - dot) * p.scale;
    }
}

// key token j's term of dw's vec4: a = A[j, i] times y (do_j's vec4), then
// m = dS[i, j] + dS[j, i] times v (w_j's);
fn w_grad_step(acc: vec4<f32>, a: f32, m: f32, y: vec4<f32>, v: vec4<f32>) -> vec4<f32> {
    return fma(vec4<f32>(m), v, fma(vec4<f32>(a), y, acc));
}

// the same with do_j's and w_j's vec4 at vec4 offset o loaded here;
fn w_grad_term(acc: vec4<f32>, a: f32, m: f32, o: u32) -> vec4<f32> {
    return w_grad_step(acc, a, m, dout4[o], w4[o]);
}

// and dw's vec4 at float offset out.
fn store_dw(out: u32, acc: vec4<f32>) {
    dw[out] = acc.x;
    dw[out + 1u] = acc.y;
    dw[out + 2u] = acc.z;
    dw[out + 3u] = acc.w;
}
