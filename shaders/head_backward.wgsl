// Head backward piece (the twin of the head in layernorm.wgsl + matmul.wgsl): `scatter_cls`
// writes dZ (B*N, d) of the last layer from the CLS gradient (B, d), zero on patch rows (only
// the CLS token reaches the logits). One thread per element.

struct Params {
    nt: u32, d: u32, total: u32, pad0: u32,
}

@group(0) @binding(0) var<storage, read> src: array<f32>;
@group(0) @binding(1) var<storage, read_write> dst: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;

//! include common/index.wgsl

@compute @workgroup_size(64, 1, 1)
fn scatter_cls(@builtin(workgroup_id) wid: vec3<u32>,
               @builtin(num_workgroups) nwg: vec3<u32>,
               @builtin(local_invocation_index) li: u32) {
    let idx = flat_index(wid, nwg, li);
    if (idx >= p.total) {
        return;
    }
    let c = idx % p.d;
    let t = (idx / p.d) % p.nt;
    let bi = idx / (p.d * p.nt);
    var v = 0.0;
    if (t == 0u) {
        v = src[bi * p.d + c];
    }
    dst[idx] = v;
}
