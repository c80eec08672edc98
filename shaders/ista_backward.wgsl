// Element-wise parts of the ISTA backward (the matmuls run on matmul.wgsl and
// matmul_backward.wgsl): `relu_mask` g = dZ_out ⊙ [Z_out > 0]; `add` out = a + b (g + dr,
// the gradient through y's direct use and its use inside r = y - y D^T).
// One thread per element over a 2D dispatch.

struct Params {
    total: u32, pad0: u32, pad1: u32, pad2: u32,
}

@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

//! include common/index.wgsl

@compute @workgroup_size(64, 1, 1)
fn relu_mask(@builtin(workgroup_id) wid: vec3<u32>,
             @builtin(num_workgroups) nwg: vec3<u32>,
             @builtin(local_invocation_index) li: u32) {
    let i = flat_index(wid, nwg, li);
    if (i >= p.total) {
        return;
    }
    out[i] = select(0.0, a[i], b[i] > 0.0);
}

@compute @workgroup_size(64, 1, 1)
fn add(@builtin(workgroup_id) wid: vec3<u32>,
       @builtin(num_workgroups) nwg: vec3<u32>,
       @builtin(local_invocation_index) li: u32) {
    let i = flat_index(wid, nwg, li);
    if (i >= p.total) {
        return;
    }
    out[i] = a[i] + b[i];
}
