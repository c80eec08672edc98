// Shared by mssa.wgsl and mssa_backward.wgsl, forward and backward side by side. Projections w
// are (B*N, d) and head k is columns k*dh .. (k+1)*dh; the one-row kernels run one 64-invocation
// workgroup per (query token i = wid.x, head k = wid.y, image b = wid.z), with the query row in
// `q` and one value per key token in `s` (so N <= MAXN and dh <= MAXDH, which the host checks).
// Both shaders bind `w` and start their Params with nt, d, dh.

//! include common/reduce.wgsl

const MAXN: u32 = 2048u;
const MAXDH: u32 = 256u;
var<workgroup> s: array<f32, 2048>;
var<workgroup> q: array<f32, 256>;

// The offset of token 0 of head wid.y of image wid.z.
fn head_base(wid: vec3<u32>) -> u32 {
    return wid.z * p.nt * p.d + wid.y * p.dh;
}

// q · w_k[j]: the unscaled score of key token j against the staged row.
fn q_dot(base: u32, j: u32) -> f32 {
    var acc = 0.0;
    let wj = base + j * p.d;
    for (var c = 0u; c < p.dh; c++) {
        acc = fma(q[c], w[wj + c], acc);
    }
    return acc;
}
