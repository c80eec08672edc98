// Patch-embedding backward pieces (the twin of embed.wgsl). `drop_cls`: the patch rows of dZ^1
// (B*N, d) gathered into de (B*n, d), the input of the second LayerNorm's backward. The CLS and
// position gradients are column sums over the batch (matmul_backward.wgsl `colsum`), and the
// LayerNorms and the linear use their own backward kernels. One thread per output element.

struct Params {
    n: u32, nt: u32, d: u32, total: u32,
}

@group(0) @binding(0) var<storage, read> src: array<f32>;
@group(0) @binding(1) var<storage, read_write> dst: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;

//! include common/index.wgsl

@compute @workgroup_size(64, 1, 1)
fn drop_cls(@builtin(workgroup_id) wid: vec3<u32>,
            @builtin(num_workgroups) nwg: vec3<u32>,
            @builtin(local_invocation_index) li: u32) {
    let idx = flat_index(wid, nwg, li);
    if (idx >= p.total) {
        return;
    }
    let c = idx % p.d;
    let row = idx / p.d;
    let bi = row / p.n;
    let t = row % p.n;
    dst[idx] = src[(bi * p.nt + t + 1u) * p.d + c];
}
