// MSSA attention, one 64-thread workgroup per (query token i, head k, image b):
// scores s_j = w_k[i]·w_k[j] / sqrt(dh) (w_k serves as query, key and value), row softmax in
// workgroup memory, o_k[i] = sum_j p_j w_k[j]. The probabilities are written to `probs`
// (B, K, N, N) only when WRITE_PROBS; otherwise they never leave workgroup memory. With
// WRITE_CLS, the CLS query's row (i = 0) is also written to `cls` (B, K, N) at cls_off, for the
// attention maps, without the full N×N.
// w and o are (B*N, d); head k is columns k*dh .. (k+1)*dh.

override WRITE_PROBS: bool = false;
override WRITE_CLS: bool = false;

struct Params {
    nt: u32, d: u32, dh: u32, heads: u32,
    scale: f32, cls_off: u32, batch: u32, ld: u32,
}

@group(0) @binding(0) var<storage, read> w: array<f32>;
@group(0) @binding(1) var<storage, read_write> o: array<f32>;
@group(0) @binding(2) var<storage, read_write> probs: array<f32>;
@group(0) @binding(3) var<storage, read_write> cls: array<f32>;
@group(0) @binding(4) var<uniform> p: Params;

//! include common/attention.wgsl
//! include common/index.wgsl

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) li: u32) {
    let i = wid.x;
    let k = wid.y;
    let bi = wid.z;
    let nt = p.nt;
    let dh = p.dh;
    let base = head_base(wid);
    for (var c = li; c < dh; c += WG) {
        q[c] = w[base + i * p.d + c];
    }
    workgroupBarrier();
    var mx = -3.0e38;
    for (var j = li; j < nt; j += WG) {
        let v = q_dot(base, j) * p.scale;
        s[j] = v;
        mx = max(mx, v);
    }
    mx = reduce_max(mx, li);
    var sum = 0.0;
    for (var j = li; j < nt; j += WG) {
        let e = exp(s[j] - mx);
        s[j] = e;
        sum += e;
    }
    let inv = 1.0 / reduce_sum(sum, li);
    let prow = ((bi * p.heads + k) * nt + i) * nt;
    for (var j = li; j < nt; j += WG) {
        let pj = s[j] * inv;
        s[j] = pj;
        if (WRITE_PROBS) {
            probs[prow + j] = pj;
        }
        if (WRITE_CLS && i == 0u) {
            cls[p.cls_off + (bi * p.heads + k) * nt + j] = pj;
        }
    }
    workgroupBarrier();
    for (var c = li; c < dh; c += WG) {
        var acc = 0.0;
        for (var j = 0u; j < nt; j++) {
            acc = fma(s[j], w[base + j * p.d + c], acc);
        }
        o[base + i * p.d + c] = acc;
    }
}

// The same for QR = 4 query rows per workgroup (up to MAXN4 tokens): each key row is read once
// for four queries in the scores, and each value once for four outputs, so the projections are
// read a quarter as often as with one row per workgroup. Rows past N (the last group) are
// computed from zero queries and not written. Workgroup memory: 4·736 scores + 4·256 queries
// + the reduction, within WebGPU's 16 KiB.
const QR: u32 = 4u;
const MAXN4: u32 = 736u;
var<workgroup> s4: array<f32, 2944>;
var<workgroup> q4: array<f32, 1024>;

@compute @workgroup_size(64, 1, 1)
fn main_q4(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) li: u32) {
    let i0 = wid.x * QR;
    let k = wid.y;
    let bi = wid.z;
    let nt = p.nt;
    let dh = p.dh;
    let base = head_base(wid);
    let nr = min(QR, nt - i0);
    for (var e = li; e < QR * dh; e += WG) {
        let r = e / dh;
        var v = 0.0;
        if (r < nr) {
            v = w[base + (i0 + r) * p.d + e % dh];
        }
        q4[e] = v;
    }
    workgroupBarrier();
    var mx = vec4<f32>(-3.0e38);
    for (var j = li; j < nt; j += WG) {
        var dot = vec4<f32>(0.0);
        let wj = base + j * p.d;
        for (var c = 0u; c < dh; c++) {
            let x = w[wj + c];
            dot = fma(vec4<f32>(q4[c], q4[dh + c], q4[2u * dh + c], q4[3u * dh + c]),
                      vec4<f32>(x), dot);
        }
        let v = dot * p.scale;
        s4[j] = v.x;
        s4[MAXN4 + j] = v.y;
        s4[2u * MAXN4 + j] = v.z;
        s4[3u * MAXN4 + j] = v.w;
        mx = max(mx, v);
    }
    for (var r = 0u; r < QR; r++) {
        let m = reduce_max(mx[r], li);
        let row = r * MAXN4;
        var sum = 0.0;
        for (var j = li; j < nt; j += WG) {
            let e = exp(s4[row + j] - m);
            s4[row + j] = e;
            sum += e;
        }
        let inv = 1.0 / reduce_sum(sum, li);
        let i = i0 + r;
        let prow = ((bi * p.heads + k) * nt + i) * nt;
        for (var j = li; j < nt; j += WG) {
            let pj = s4[row + j] * inv;
            s4[row + j] = pj;
            if (WRITE_PROBS && r < nr) {
                probs[prow + j] = pj;
            }
            if (WRITE_CLS && i == 0u) {
                cls[p.cls_off + (bi * p.heads + k) * nt + j] = pj;
            }
        }
    }
    workgroupBarrier();
    for (var c = li; c < dh; c += WG) {
        var acc = vec4<f32>(0.0);
        for (var j = 0u; j < nt; j++) {
            acc = fma(vec4<f32>(s4[j], s4[MAXN4 + j], s4[2u * MAXN4 + j], s4[3u * MAXN4 + j]),
                      vec4<f32>(w[base + j * p.d + c]), acc);
        }
        for (var r = 0u; r < nr; r++) {
            o[base + (i0 + r) * p.d + c] = acc[r];
        }
    }
}

// For CPU-emulated adapters, the MSSA is split so that its two products run on the matmul
// kernel: scores (alpha = 1/sqrt(dh)) into `probs`, this row softmax in place (one invocation
// per row of B*K*N, rows `ld` apart, no workgroup memory; the CLS row also copied to `cls` when
// WRITE_CLS), then probabilities × projections.
@compute @workgroup_size(64, 1, 1)
fn softmax_reg(@builtin(global_invocation_id) gid: vec3<u32>,
               @builtin(num_workgroups) nwg: vec3<u32>) {
    let nt = p.nt;
    let row = flat_global(gid, nwg);
    if (row >= nt * p.heads * p.batch) {
        return;
    }
    let r0 = row * p.ld;
    var mx = -3.0e38;
    for (var j = 0u; j < nt; j++) {
        mx = max(mx, probs[r0 + j]);
    }
    var sum = 0.0;
    for (var j = 0u; j < nt; j++) {
        let e = exp(probs[r0 + j] - mx);
        probs[r0 + j] = e;
        sum += e;
    }
    let inv = 1.0 / sum;
    let is_cls = row % nt == 0u;
    for (var j = 0u; j < nt; j++) {
        let pj = probs[r0 + j] * inv;
        probs[r0 + j] = pj;
        if (WRITE_CLS && is_cls) {
            cls[p.cls_off + (row / nt) * nt + j] = pj;
        }
    }
}
