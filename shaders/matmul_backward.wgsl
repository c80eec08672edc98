// Matmul gradients that the forward kernel (matmul.wgsl) cannot express without a transposed A.
// `tn`: C = alpha * A^T·B (+ C when ACCUM), A (k, m) and B (k, n) row-major: the weight gradient
//   dW = dY^T X of `y = x W^T`, where k is the number of rows (B*N, large) and m, n are widths.
//   32×32 output tile per 8×8 workgroup, 4×4 outputs per thread, f32 accumulation, like the
//   forward; tiles of A^T are read along m, so loads stay contiguous. Split-K: with ksplit > 0,
//   workgroup z sums only rows z*ksplit .. (z+1)*ksplit of k and writes its partial product at
//   c_off + z*m*n (the host then adds the partials with `colsum`), so a long k (B*N rows) and
//   a small m×n still fill the GPU.
// `colsum`: out[c] = alpha * sum_r a[r, c] * (b[r, c] when HAS_B) (+ out[c] when ACCUM), for
//   bias gradients (sum of dY over rows), LayerNorm gamma gradients (sum of dY ⊙ xhat) and the
//   CLS/position gradients (rows = images, row stride N*d). One thread per column; with
//   rsplit > 0, workgroup z sums rows z*rsplit .. (z+1)*rsplit into out[c_off + z*n + c] (a
//   first stage; the host sums the chunks with a second colsum).

override ACCUM: bool = false;
override HAS_B: bool = false;

struct Params {
    m: u32, n: u32, k: u32, lda: u32,
    ldb: u32, ldc: u32, a_off: u32, b_off: u32,
    c_off: u32, alpha: f32, ksplit: u32, rsplit: u32,
}

@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<f32>;
@group(0) @binding(2) var<storage, read_write> c: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

//! include common/index.wgsl

const TS: u32 = 32u;
const BK: u32 = 32u;
var<workgroup> ta: array<array<f32, 32>, 32>;
var<workgroup> tb: array<array<f32, 32>, 32>;

@compute @workgroup_size(8, 8, 1)
fn tn(@builtin(workgroup_id) wid: vec3<u32>,
      @builtin(local_invocation_id) lid: vec3<u32>,
      @builtin(local_invocation_index) li: u32) {
    let row0 = wid.y * TS;
    let col0 = wid.x * TS;
//! expand common/split_k.wgsl
    var acc: array<array<f32, 4>, 4>;
    for (var i = 0u; i < 4u; i++) {
        for (var j = 0u; j < 4u; j++) {
            acc[i][j] = 0.0;
        }
    }
    let ntiles = (ke - kb + BK - 1u) / BK;
    for (var t = 0u; t < ntiles; t++) {
        let k0 = kb + t * BK;
        for (var s = 0u; s < 16u; s++) {
            let e = li + s * 64u;
            let kk = e / TS;
            let r = e % TS;
            let gk = k0 + kk;
            var va = 0.0;
            if (gk < ke && row0 + r < p.m) {
                va = a[p.a_off + gk * p.lda + row0 + r];
            }
            ta[kk][r] = va;
            var vb = 0.0;
            if (gk < ke && col0 + r < p.n) {
                vb = b[p.b_off + gk * p.ldb + col0 + r];
            }
            tb[kk][r] = vb;
        }
        workgroupBarrier();
        for (var kk = 0u; kk < BK; kk++) {
            var ra: array<f32, 4>;
            var rb: array<f32, 4>;
            for (var i = 0u; i < 4u; i++) {
                ra[i] = ta[kk][lid.y + 8u * i];
                rb[i] = tb[kk][lid.x + 8u * i];
            }
            for (var i = 0u; i < 4u; i++) {
                for (var j = 0u; j < 4u; j++) {
                    acc[i][j] = fma(ra[i], rb[j], acc[i][j]);
                }
            }
        }
        workgroupBarrier();
    }
    for (var i = 0u; i < 4u; i++) {
        let row = row0 + lid.y + 8u * i;
        if (row >= p.m) {
            continue;
        }
        for (var j = 0u; j < 4u; j++) {
            let col = col0 + lid.x + 8u * j;
            if (col >= p.n) {
                continue;
            }
            let idx = c0 + row * p.ldc + col;
            var v = p.alpha * acc[i][j];
            if (ACCUM) {
                v += c[idx];
            }
            c[idx] = v;
        }
    }
}

@compute @workgroup_size(64, 1, 1)
fn colsum(@builtin(workgroup_id) wid: vec3<u32>,
          @builtin(num_workgroups) nwg: vec3<u32>,
          @builtin(local_invocation_index) li: u32) {
    let col = flat_index(wid, nwg, li);
    if (col >= p.n) {
        return;
    }
    var rb = 0u;
    var re = p.k;
    var idx = p.c_off + col;
    if (p.rsplit > 0u) {
        rb = wid.z * p.rsplit;
        re = min(p.k, rb + p.rsplit);
        idx += wid.z * p.n;
    }
    var s = 0.0;
    for (var r = rb; r < re; r++) {
        var v = a[p.a_off + r * p.lda + col];
        if (HAS_B) {
            v *= b[p.b_off + r * p.ldb + col];
        }
        s += v;
    }
    var o = p.alpha * s;
    if (ACCUM) {
        o += c[idx];
    }
    c[idx] = o;
}
