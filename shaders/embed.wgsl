// Patch embedding around the matmul: `patchify` cuts images (B, C, H, W) into patch vectors
// (B*n, P) with index (i*p + j)*C + c (einops `(p1 p2 c)`); `assemble` builds
// Z^1 = [cls ; e] + pos as (B*N, d). One thread per output element; the flat index spans a 2D
// dispatch so large batches stay under the per-dimension workgroup limit.

struct Params {
    b: u32, c: u32, h: u32, w: u32,
    p: u32, gw: u32, n: u32, plen: u32,
    nt: u32, d: u32, total: u32, pad0: u32,
}

@group(0) @binding(0) var<storage, read> src: array<f32>;
@group(0) @binding(1) var<storage, read> cls: array<f32>;
@group(0) @binding(2) var<storage, read> pos: array<f32>;
@group(0) @binding(3) var<storage, read_write> dst: array<f32>;
@group(0) @binding(4) var<uniform> p: Params;

//! include common/index.wgsl

@compute @workgroup_size(64, 1, 1)
fn patchify(@builtin(workgroup_id) wid: vec3<u32>,
            @builtin(num_workgroups) nwg: vec3<u32>,
            @builtin(local_invocation_index) li: u32) {
    let idx = flat_index(wid, nwg, li);
    if (idx >= p.total) {
        return;
    }
    let row = idx / p.plen;
    let e = idx % p.plen;
    let bi = row / p.n;
    let g = row % p.n;
    let gy = g / p.gw;
    let gx = g % p.gw;
    let i = e / (p.p * p.c);
    let j = (e / p.c) % p.p;
    let ci = e % p.c;
    dst[idx] = src[((bi * p.c + ci) * p.h + gy * p.p + i) * p.w + gx * p.p + j];
}

@compute @workgroup_size(64, 1, 1)
fn assemble(@builtin(workgroup_id) wid: vec3<u32>,
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
        v = cls[c];
    } else {
        v = src[(bi * p.n + t - 1u) * p.d + c];
    }
    dst[idx] = v + pos[t * p.d + c];
}
