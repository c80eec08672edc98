// Analysis: the number of non-zero entries of each image's slice of a (B, len) tensor (the ISTA
// output, for sparsity), written as f32 (exact below 2^24) at counts[out_off + image].
// A NaN counts as non-zero, as in the CPU measure. One 256-thread workgroup per image.

struct Params {
    len: u32, out_off: u32, pad0: u32, pad1: u32,
}

@group(0) @binding(0) var<storage, read> z: array<f32>;
@group(0) @binding(1) var<storage, read_write> counts: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;

const WG: u32 = 256u;
var<workgroup> red: array<u32, 256>;

@compute @workgroup_size(256, 1, 1)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) li: u32) {
    let base = wid.x * p.len;
    var c = 0u;
    for (var i = li; i < p.len; i += WG) {
        c += select(0u, 1u, z[base + i] != 0.0);
    }
    red[li] = c;
    workgroupBarrier();
    for (var s = WG / 2u; s > 0u; s >>= 1u) {
        if (li < s) {
            red[li] += red[li + s];
        }
        workgroupBarrier();
    }
    if (li == 0u) {
        counts[p.out_off + wid.x] = f32(red[0]);
    }
}
