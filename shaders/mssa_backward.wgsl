// MSSA attention backward (the twin of mssa.wgsl). q = k = v = w_k, so dw_k sums the value path
// and both sides of the symmetric scores:
//   dA = do_k w_k^T, dS = A ⊙ (dA - rowsum(dA ⊙ A)) * scale (softmax backward, the score scale
//   folded in), dw_k = A^T do_k + (dS + dS^T) w_k.
// `scores_grad`: one workgroup per (token i, head k, image b) writes row i of dS into `ds`
//   (B, K, N, N), from the saved probabilities A.
// `w_grad`: one workgroup per (token i, head k, image b) writes row i of dw_k into `dw`
//   (B*N, d), staging column i of A and row/column i of dS in workgroup memory in chunks.

struct Params {
    nt: u32, d: u32, dh: u32, heads: u32,
    scale: f32, pad0: u32, pad1: u32, pad2: u32,
}

@group(0) @binding(0) var<storage, read> w: array<f32>;
@group(0) @binding(1) var<storage, read> probs: array<f32>;
@group(0) @binding(2) var<storage, read> dout: array<f32>;
@group(0) @binding(3) var<storage, read_write> ds: array<f32>;
@group(0) @binding(4) var<storage, read_write> dw: array<f32>;
@group(0) @binding(5) var<uniform> p: Params;

//! include common/attention.wgsl

const CH: u32 = 1024u;
var<workgroup> ca: array<f32, 1024>;
var<workgroup> cm: array<f32, 1024>;

@compute @workgroup_size(64, 1, 1)
fn scores_grad(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) li: u32) {
    let i = wid.x;
    let k = wid.y;
    let bi = wid.z;
    let nt = p.nt;
    let dh = p.dh;
    let base = head_base(wid);
    for (var c = li; c < dh; c += WG) {
        q[c] = dout[base + i * p.d + c];
    }
    workgroupBarrier();
    let prow = ((bi * p.heads + k) * nt + i) * nt;
    var dot = 0.0;
    for (var j = li; j < nt; j += WG) {
        let da = q_dot(base, j);
        s[j] = da;
        dot += da * probs[prow + j];
    }
    dot = reduce_sum(dot, li);
    for (var j = li; j < nt; j += WG) {
        ds[prow + j] = probs[prow + j] * (s[j] - dot) * p.scale;
    }
}

@compute @workgroup_size(64, 1, 1)
fn w_grad(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) li: u32) {
    let i = wid.x;
    let k = wid.y;
    let bi = wid.z;
    let nt = p.nt;
    let dh = p.dh;
    let base = head_base(wid);
    let pb = (bi * p.heads + k) * nt * nt;
    var acc: array<f32, 4>;
    for (var u = 0u; u < 4u; u++) {
        acc[u] = 0.0;
    }
    for (var j0 = 0u; j0 < nt; j0 += CH) {
        let cnt = min(CH, nt - j0);
        for (var t = li; t < cnt; t += WG) {
            let j = j0 + t;
            ca[t] = probs[pb + j * nt + i];
            cm[t] = ds[pb + i * nt + j] + ds[pb + j * nt + i];
        }
        workgroupBarrier();
        for (var u = 0u; u < 4u; u++) {
            let c = li + u * WG;
            if (c < dh) {
                var v = acc[u];
                for (var t = 0u; t < cnt; t++) {
                    let o = base + (j0 + t) * p.d + c;
                    v = fma(ca[t], dout[o], v);
                    v = fma(cm[t], w[o], v);
                }
                acc[u] = v;
            }
        }
        workgroupBarrier();
    }
    for (var u = 0u; u < 4u; u++) {
        let c = li + u * WG;
        if (c < dh) {
            dw[base + i * p.d + c] = acc[u];
        }
    }
}
