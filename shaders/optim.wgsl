// The end of a training step, on the GPU so that nothing is read back per step:
// `partial`: NPART workgroups each sum g^2 over a strided slice of the flat gradient buffer
//   (a slice holding a NaN or inf reports inf), into scal[16 + workgroup].
// `finalize`: one workgroup sums the partials and the per-image loss/correct rows, decides
//   whether the step is finite, the clip scale (torch's clip_grad_norm_: max/(norm + 1e-6)
//   when norm > max), advances the step count and the bias-correction products, and keeps
//   running totals the host reads every few steps.
// `adamw` / `lion`: one thread per element of one parameter tensor; they do nothing when the
//   step is not finite, so weights and moments stay as they were (the step is skipped).
// Non-finite values are detected from their bits (exponent all ones), which no fast-math
// assumption can remove.
//
// scal: [0] loss (this step, mean), [1] correct, [2] grad norm, [3] clip scale, [4] finite
// (1/0), [5] optimiser steps t, [6] skipped (total), [7] running loss sum (loss × images),
// [8] running correct, [9] running images, [10] running skipped, [11] running steps,
// [12] beta1^t, [13] beta2^t, [16..16+NPART] partial sums of squares.

struct Params {
    len: u32, goff: u32, lr: f32, wd: f32,
    beta1: f32, beta2: f32, eps: f32, clip: f32,
    b: u32, total: u32, pad0: u32, pad1: u32,
}

@group(0) @binding(0) var<storage, read> rows: array<f32>;
@group(0) @binding(1) var<storage, read> g: array<f32>;
@group(0) @binding(2) var<storage, read_write> w: array<f32>;
@group(0) @binding(3) var<storage, read_write> m: array<f32>;
@group(0) @binding(4) var<storage, read_write> v: array<f32>;
@group(0) @binding(5) var<storage, read_write> scal: array<f32>;
@group(0) @binding(6) var<uniform> p: Params;

//! include common/reduce.wgsl
//! include common/index.wgsl

const NPART: u32 = 256u;

fn bad(x: f32) -> bool {
    return (bitcast<u32>(x) & 0x7f800000u) == 0x7f800000u;
}

fn inf() -> f32 {
    // Through a variable: Tint (Chromium's WebGPU) rejects inf as a constant expression.
    var bits = 0x7f800000u;
    return bitcast<f32>(bits);
}

@compute @workgroup_size(64, 1, 1)
fn partial(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) li: u32) {
    var s = 0.0;
    var nb = 0.0;
    for (var i = wid.x * WG + li; i < p.total; i += NPART * WG) {
        let x = g[i];
        if (bad(x)) {
            nb += 1.0;
        } else {
            s += x * x;
        }
    }
    s = reduce_sum(s, li);
    nb = reduce_sum(nb, li);
    if (li == 0u) {
        scal[16u + wid.x] = select(s, inf(), nb > 0.0);
    }
}

@compute @workgroup_size(64, 1, 1)
fn finalize(@builtin(local_invocation_index) li: u32) {
    var sq = 0.0;
    for (var i = li; i < NPART; i += WG) {
        sq += scal[16u + i];
    }
    var ls = 0.0;
    var cs = 0.0;
    var nb = 0.0;
    for (var i = li; i < p.b; i += WG) {
        let l = rows[i];
        if (bad(l)) {
            nb += 1.0;
        } else {
            ls += l;
        }
        cs += rows[p.b + i];
    }
    sq = reduce_sum(sq, li);
    ls = reduce_sum(ls, li);
    cs = reduce_sum(cs, li);
    nb = reduce_sum(nb, li);
    if (li != 0u) {
        return;
    }
    let finite = nb == 0.0 && !bad(sq) && !bad(ls);
    let norm = sqrt(sq);
    var scale = 1.0;
    if (p.clip > 0.0 && norm > p.clip) {
        scale = p.clip / (norm + 1e-6);
    }
    let bt = f32(p.b);
    scal[0] = select(ls / max(bt, 1.0), inf(), nb > 0.0);
    scal[1] = cs;
    scal[2] = norm;
    scal[3] = scale;
    scal[4] = select(0.0, 1.0, finite);
    if (finite) {
        scal[5] += 1.0;
        scal[7] += ls;
        scal[8] += cs;
        scal[9] += bt;
        scal[12] *= p.beta1;
        scal[13] *= p.beta2;
    } else {
        scal[6] += 1.0;
        scal[10] += 1.0;
    }
    scal[11] += 1.0;
}

@compute @workgroup_size(64, 1, 1)
fn adamw(@builtin(workgroup_id) wid: vec3<u32>,
         @builtin(num_workgroups) nwg: vec3<u32>,
         @builtin(local_invocation_index) li: u32) {
    let i = flat_index(wid, nwg, li);
    if (i >= p.len || scal[4] == 0.0) {
        return;
    }
    let gi = g[p.goff + i] * scal[3];
    var wv = w[i];
    wv -= p.lr * p.wd * wv;
    let mi = p.beta1 * m[i] + (1.0 - p.beta1) * gi;
    let vi = p.beta2 * v[i] + (1.0 - p.beta2) * gi * gi;
    m[i] = mi;
    v[i] = vi;
    let mhat = mi / (1.0 - scal[12]);
    let vhat = vi / (1.0 - scal[13]);
    wv -= p.lr * mhat / (sqrt(vhat) + p.eps);
    w[i] = wv;
}

@compute @workgroup_size(64, 1, 1)
fn lion(@builtin(workgroup_id) wid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
    let i = flat_index(wid, nwg, li);
    if (i >= p.len || scal[4] == 0.0) {
        return;
    }
    let gi = g[p.goff + i] * scal[3];
    var wv = w[i];
    let u = sign(p.beta1 * m[i] + (1.0 - p.beta1) * gi);
    wv -= p.lr * (u + p.wd * wv);
    w[i] = wv;
    m[i] = p.beta2 * m[i] + (1.0 - p.beta2) * gi;
}
