// Tiled matmul, 32×32 output tile per 8×8 workgroup, 4×4 outputs per thread, f32 accumulation.
// C = alpha * A·B^T (TRANS_B, the F.linear form: B is (n, k) row-major) or alpha * A·B (B is
// (k, n)), then the fused epilogue:
//   v = alpha*acc (+ bias[col]) (+ extra[row, col]) - shift, then ReLU when RELU.
// bias: linear layers; extra: residual add, `r = y - y D^T` (alpha = -1, extra = y) and the
// ISTA update `relu(y + eta*acc - eta*lambda)` (alpha = eta, extra = y, shift = eta*lambda).
// Batched over workgroup z: z = outer * batch_inner + inner, each operand offset by
// off + outer*so + inner*si (so per-(image, head) blocks of a (B*N, d) matrix can be addressed).
// VEC4: the host sets it when every offset, stride and leading dimension of A and B is a
// multiple of 4 and so is the contiguous extent (k for A and for B^T, n for B); tiles are then
// loaded as vec4 through a4/b4, which alias a/b (both read-only).

override TRANS_B: bool = true;
override HAS_BIAS: bool = false;
override HAS_EXTRA: bool = false;
override RELU: bool = false;
override VEC4: bool = false;

struct Params {
    m: u32, n: u32, k: u32, batch_inner: u32,
    lda: u32, ldb: u32, ldc: u32, lde: u32,
    a_off: u32, b_off: u32, c_off: u32, e_off: u32,
    a_so: u32, a_si: u32, b_so: u32, b_si: u32,
    c_so: u32, c_si: u32, e_so: u32, e_si: u32,
    alpha: f32, shift: f32, pad0: u32, pad1: u32,
}

@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<f32>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read> extra: array<f32>;
@group(0) @binding(4) var<storage, read> a4: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read> b4: array<vec4<f32>>;
@group(0) @binding(6) var<storage, read_write> c: array<f32>;
@group(0) @binding(7) var<uniform> p: Params;

const TS: u32 = 32u;
const BK: u32 = 32u;

// k-major tiles: ta[kk][row], tb[kk][col]; threads of a row of the workgroup read the same
// ta entry (broadcast) and consecutive tb entries.
var<workgroup> ta: array<array<f32, 32>, 32>;
var<workgroup> tb: array<array<f32, 32>, 32>;

// 1024 elements per tile, 16 per thread; consecutive threads read consecutive k.
fn load_tiles(a0: u32, b0: u32, row0: u32, col0: u32, k0: u32, li: u32) {
    for (var s = 0u; s < 16u; s++) {
        let e = li + s * 64u;
        let r = e / BK;
        let kk = e % BK;
        let gr = row0 + r;
        let gk = k0 + kk;
        var va = 0.0;
        if (gr < p.m && gk < p.k) {
            va = a[a0 + gr * p.lda + gk];
        }
        ta[kk][r] = va;
        var vb = 0.0;
        if (TRANS_B) {
            let gc = col0 + r;
            if (gc < p.n && gk < p.k) {
                vb = b[b0 + gc * p.ldb + gk];
            }
            tb[kk][r] = vb;
        } else {
            let kb = e / TS;
            let cb = e % TS;
            let gkb = k0 + kb;
            let gc = col0 + cb;
            if (gc < p.n && gkb < p.k) {
                vb = b[b0 + gkb * p.ldb + gc];
            }
            tb[kb][cb] = vb;
        }
    }
}

// 256 vec4 per tile, 4 per thread. A vec4 is either wholly inside or wholly outside the matrix
// because the contiguous extent is a multiple of 4.
fn load_tiles_vec4(a0: u32, b0: u32, row0: u32, col0: u32, k0: u32, li: u32) {
    for (var s = 0u; s < 4u; s++) {
        let e = li + s * 64u;
        let r = e / 8u;
        let kq = (e % 8u) * 4u;
        let gr = row0 + r;
        let gk = k0 + kq;
        var va = vec4<f32>(0.0);
        if (gr < p.m && gk < p.k) {
            va = a4[(a0 + gr * p.lda + gk) / 4u];
        }
        ta[kq][r] = va.x;
        ta[kq + 1u][r] = va.y;
        ta[kq + 2u][r] = va.z;
        ta[kq + 3u][r] = va.w;
        var vb = vec4<f32>(0.0);
        if (TRANS_B) {
            let gc = col0 + r;
            if (gc < p.n && gk < p.k) {
                vb = b4[(b0 + gc * p.ldb + gk) / 4u];
            }
            tb[kq][r] = vb.x;
            tb[kq + 1u][r] = vb.y;
            tb[kq + 2u][r] = vb.z;
            tb[kq + 3u][r] = vb.w;
        } else {
            let kb = e / 8u;
            let cq = (e % 8u) * 4u;
            let gkb = k0 + kb;
            let gc = col0 + cq;
            if (gc < p.n && gkb < p.k) {
                vb = b4[(b0 + gkb * p.ldb + gc) / 4u];
            }
            tb[kb][cq] = vb.x;
            tb[kb][cq + 1u] = vb.y;
            tb[kb][cq + 2u] = vb.z;
            tb[kb][cq + 3u] = vb.w;
        }
    }
}

@compute @workgroup_size(8, 8, 1)
fn main(@builtin(workgroup_id) wid: vec3<u32>,
        @builtin(local_invocation_id) lid: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
    let outer = wid.z / p.batch_inner;
    let inner = wid.z % p.batch_inner;
    let a0 = p.a_off + outer * p.a_so + inner * p.a_si;
    let b0 = p.b_off + outer * p.b_so + inner * p.b_si;
    let c0 = p.c_off + outer * p.c_so + inner * p.c_si;
    let e0 = p.e_off + outer * p.e_so + inner * p.e_si;
    let row0 = wid.y * TS;
    let col0 = wid.x * TS;

    var acc: array<array<f32, 4>, 4>;
    for (var i = 0u; i < 4u; i++) {
        for (var j = 0u; j < 4u; j++) {
            acc[i][j] = 0.0;
        }
    }

    let ntiles = (p.k + BK - 1u) / BK;
    for (var t = 0u; t < ntiles; t++) {
        let k0 = t * BK;
        if (VEC4) {
            load_tiles_vec4(a0, b0, row0, col0, k0, li);
        } else {
            load_tiles(a0, b0, row0, col0, k0, li);
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
        for (var j = 0u; j < 4u; j++) {
            store(c0, e0, row0 + lid.y + 8u * i, col0 + lid.x + 8u * j, acc[i][j]);
        }
    }
}

// The fused epilogue for one output; outside the matrix it does nothing.
fn store(c0: u32, e0: u32, row: u32, col: u32, acc: f32) {
    if (row >= p.m || col >= p.n) {
        return;
    }
    var v = p.alpha * acc;
    if (HAS_BIAS) {
        v += bias[col];
    }
    if (HAS_EXTRA) {
        v += extra[e0 + row * p.lde + col];
    }
    v -= p.shift;
    if (RELU) {
        // Keeps a NaN a NaN, as the CPU engine does.
        v = select(v, 0.0, v < 0.0);
    }
    c[c0 + row * p.ldc + col] = v;
}

fn store4(c0: u32, e0: u32, row: u32, col: u32, acc: vec4<f32>) {
    store(c0, e0, row, col, acc.x);
    store(c0, e0, row, col + 1u, acc.y);
    store(c0, e0, row, col + 2u, acc.z);
    store(c0, e0, row, col + 3u, acc.w);
}

// For CPU-emulated adapters (lavapipe, SwiftShader): no workgroup memory and no barriers, which
// they emulate at a high cost, and which buy nothing where "global" memory is the CPU's cached
// RAM. Each invocation owns a 4×4 block (rows row0 + 4*lid.y + i, columns col0 + 4*lid.x + j)
// and keeps everything in named vec4 registers (no dynamically indexed arrays, which such
// compilers put in memory). Out-of-range rows and columns are clamped for the loads (their
// results are dropped by the epilogue), so the inner loop has no branches.
@compute @workgroup_size(8, 8, 1)
fn main_reg(@builtin(workgroup_id) wid: vec3<u32>,
            @builtin(local_invocation_id) lid: vec3<u32>) {
    let outer = wid.z / p.batch_inner;
    let inner = wid.z % p.batch_inner;
    let a0 = p.a_off + outer * p.a_so + inner * p.a_si;
    let b0 = p.b_off + outer * p.b_so + inner * p.b_si;
    let c0 = p.c_off + outer * p.c_so + inner * p.c_si;
    let e0 = p.e_off + outer * p.e_so + inner * p.e_si;
    let row = wid.y * TS + 4u * lid.y;
    let col = wid.x * TS + 4u * lid.x;
    if (row >= p.m || col >= p.n) {
        return;
    }
    let rl = p.m - 1u;
    let cl = p.n - 1u;
    let ra0 = a0 + min(row, rl) * p.lda;
    let ra1 = a0 + min(row + 1u, rl) * p.lda;
    let ra2 = a0 + min(row + 2u, rl) * p.lda;
    let ra3 = a0 + min(row + 3u, rl) * p.lda;
    var acc0 = vec4<f32>(0.0);
    var acc1 = vec4<f32>(0.0);
    var acc2 = vec4<f32>(0.0);
    var acc3 = vec4<f32>(0.0);
    if (TRANS_B) {
        let rb0 = b0 + min(col, cl) * p.ldb;
        let rb1 = b0 + min(col + 1u, cl) * p.ldb;
        let rb2 = b0 + min(col + 2u, cl) * p.ldb;
        let rb3 = b0 + min(col + 3u, cl) * p.ldb;
        if (VEC4) {
            for (var k = 0u; k < p.k; k += 4u) {
                let x0 = a4[(ra0 + k) / 4u];
                let x1 = a4[(ra1 + k) / 4u];
                let x2 = a4[(ra2 + k) / 4u];
                let x3 = a4[(ra3 + k) / 4u];
                let y0 = b4[(rb0 + k) / 4u];
                let y1 = b4[(rb1 + k) / 4u];
                let y2 = b4[(rb2 + k) / 4u];
                let y3 = b4[(rb3 + k) / 4u];
                acc0 += vec4<f32>(dot(x0, y0), dot(x0, y1), dot(x0, y2), dot(x0, y3));
                acc1 += vec4<f32>(dot(x1, y0), dot(x1, y1), dot(x1, y2), dot(x1, y3));
                acc2 += vec4<f32>(dot(x2, y0), dot(x2, y1), dot(x2, y2), dot(x2, y3));
                acc3 += vec4<f32>(dot(x3, y0), dot(x3, y1), dot(x3, y2), dot(x3, y3));
            }
        } else {
            for (var k = 0u; k < p.k; k++) {
                let y = vec4<f32>(b[rb0 + k], b[rb1 + k], b[rb2 + k], b[rb3 + k]);
                acc0 = fma(vec4<f32>(a[ra0 + k]), y, acc0);
                acc1 = fma(vec4<f32>(a[ra1 + k]), y, acc1);
                acc2 = fma(vec4<f32>(a[ra2 + k]), y, acc2);
                acc3 = fma(vec4<f32>(a[ra3 + k]), y, acc3);
            }
        }
    } else {
        if (VEC4) {
            // n is a multiple of 4 here, so the four columns are all in or all out.
            let cb = b0 + col;
            for (var k = 0u; k < p.k; k += 4u) {
                let x0 = a4[(ra0 + k) / 4u];
                let x1 = a4[(ra1 + k) / 4u];
                let x2 = a4[(ra2 + k) / 4u];
                let x3 = a4[(ra3 + k) / 4u];
                let y0 = b4[(cb + k * p.ldb) / 4u];
                let y1 = b4[(cb + (k + 1u) * p.ldb) / 4u];
                let y2 = b4[(cb + (k + 2u) * p.ldb) / 4u];
                let y3 = b4[(cb + (k + 3u) * p.ldb) / 4u];
                acc0 = fma(vec4<f32>(x0.x), y0, fma(vec4<f32>(x0.y), y1,
                       fma(vec4<f32>(x0.z), y2, fma(vec4<f32>(x0.w), y3, acc0))));
                acc1 = fma(vec4<f32>(x1.x), y0, fma(vec4<f32>(x1.y), y1,
                       fma(vec4<f32>(x1.z), y2, fma(vec4<f32>(x1.w), y3, acc1))));
                acc2 = fma(vec4<f32>(x2.x), y0, fma(vec4<f32>(x2.y), y1,
                       fma(vec4<f32>(x2.z), y2, fma(vec4<f32>(x2.w), y3, acc2))));
                acc3 = fma(vec4<f32>(x3.x), y0, fma(vec4<f32>(x3.y), y1,
                       fma(vec4<f32>(x3.z), y2, fma(vec4<f32>(x3.w), y3, acc3))));
            }
        } else {
            let cb0 = b0 + min(col, cl);
            let cb1 = b0 + min(col + 1u, cl);
            let cb2 = b0 + min(col + 2u, cl);
            let cb3 = b0 + min(col + 3u, cl);
            for (var k = 0u; k < p.k; k++) {
                let o = k * p.ldb;
                let y = vec4<f32>(b[cb0 + o], b[cb1 + o], b[cb2 + o], b[cb3 + o]);
                acc0 = fma(vec4<f32>(a[ra0 + k]), y, acc0);
                acc1 = fma(vec4<f32>(a[ra1 + k]), y, acc1);
                acc2 = fma(vec4<f32>(a[ra2 + k]), y, acc2);
                acc3 = fma(vec4<f32>(a[ra3 + k]), y, acc3);
            }
        }
    }
    store4(c0, e0, row, col, acc0);
    store4(c0, e0, row + 1u, col, acc1);
    store4(c0, e0, row + 2u, col, acc2);
    store4(c0, e0, row + 3u, col, acc3);
}

// The CPU-adapter variant for vec4-aligned rows (offsets, strides and leading dimensions
// multiples of 4, and n too when B is not transposed; k may be anything: its k % 4 tail runs
// scalar): each invocation owns an 8×8 block (rows
// row0 + 8*lid.y + i, columns col0 + 8*lid.x + j) in sixteen named vec4 accumulators, so every
// 64 loads feed 256 FMAs (these adapters gather every load lane by lane: loads, not FMAs, are
// what costs). A workgroup of 8×4 invocations covers 64 columns × 32 rows.
@compute @workgroup_size(8, 4, 1)
fn main_reg8(@builtin(workgroup_id) wid: vec3<u32>,
             @builtin(local_invocation_id) lid: vec3<u32>) {
    let outer = wid.z / p.batch_inner;
    let inner = wid.z % p.batch_inner;
    let a0 = p.a_off + outer * p.a_so + inner * p.a_si;
    let b0 = p.b_off + outer * p.b_so + inner * p.b_si;
    let c0 = p.c_off + outer * p.c_so + inner * p.c_si;
    let e0 = p.e_off + outer * p.e_so + inner * p.e_si;
    let row = wid.y * 32u + 8u * lid.y;
    let col = wid.x * 64u + 8u * lid.x;
    if (row >= p.m || col >= p.n) {
        return;
    }
    let rl = p.m - 1u;
    let cl = p.n - 1u;
    let ra0 = (a0 + min(row + 0u, rl) * p.lda) / 4u;
    let ra1 = (a0 + min(row + 1u, rl) * p.lda) / 4u;
    let ra2 = (a0 + min(row + 2u, rl) * p.lda) / 4u;
    let ra3 = (a0 + min(row + 3u, rl) * p.lda) / 4u;
    let ra4 = (a0 + min(row + 4u, rl) * p.lda) / 4u;
    let ra5 = (a0 + min(row + 5u, rl) * p.lda) / 4u;
    let ra6 = (a0 + min(row + 6u, rl) * p.lda) / 4u;
    let ra7 = (a0 + min(row + 7u, rl) * p.lda) / 4u;
    var l0 = vec4<f32>(0.0);
    var h0 = vec4<f32>(0.0);
    var l1 = vec4<f32>(0.0);
    var h1 = vec4<f32>(0.0);
    var l2 = vec4<f32>(0.0);
    var h2 = vec4<f32>(0.0);
    var l3 = vec4<f32>(0.0);
    var h3 = vec4<f32>(0.0);
    var l4 = vec4<f32>(0.0);
    var h4 = vec4<f32>(0.0);
    var l5 = vec4<f32>(0.0);
    var h5 = vec4<f32>(0.0);
    var l6 = vec4<f32>(0.0);
    var h6 = vec4<f32>(0.0);
    var l7 = vec4<f32>(0.0);
    var h7 = vec4<f32>(0.0);
    if (TRANS_B) {
        let rb0 = (b0 + min(col + 0u, cl) * p.ldb) / 4u;
        let rb1 = (b0 + min(col + 1u, cl) * p.ldb) / 4u;
        let rb2 = (b0 + min(col + 2u, cl) * p.ldb) / 4u;
        let rb3 = (b0 + min(col + 3u, cl) * p.ldb) / 4u;
        let rb4 = (b0 + min(col + 4u, cl) * p.ldb) / 4u;
        let rb5 = (b0 + min(col + 5u, cl) * p.ldb) / 4u;
        let rb6 = (b0 + min(col + 6u, cl) * p.ldb) / 4u;
        let rb7 = (b0 + min(col + 7u, cl) * p.ldb) / 4u;
        let k4n = p.k / 4u;
        for (var k = 0u; k < k4n; k++) {
            let y0 = b4[rb0 + k];
            let y1 = b4[rb1 + k];
            let y2 = b4[rb2 + k];
            let y3 = b4[rb3 + k];
            let y4 = b4[rb4 + k];
            let y5 = b4[rb5 + k];
            let y6 = b4[rb6 + k];
            let y7 = b4[rb7 + k];
            let x0 = a4[ra0 + k];
            l0 += vec4<f32>(dot(x0, y0), dot(x0, y1), dot(x0, y2), dot(x0, y3));
            h0 += vec4<f32>(dot(x0, y4), dot(x0, y5), dot(x0, y6), dot(x0, y7));
            let x1 = a4[ra1 + k];
            l1 += vec4<f32>(dot(x1, y0), dot(x1, y1), dot(x1, y2), dot(x1, y3));
            h1 += vec4<f32>(dot(x1, y4), dot(x1, y5), dot(x1, y6), dot(x1, y7));
            let x2 = a4[ra2 + k];
            l2 += vec4<f32>(dot(x2, y0), dot(x2, y1), dot(x2, y2), dot(x2, y3));
            h2 += vec4<f32>(dot(x2, y4), dot(x2, y5), dot(x2, y6), dot(x2, y7));
            let x3 = a4[ra3 + k];
            l3 += vec4<f32>(dot(x3, y0), dot(x3, y1), dot(x3, y2), dot(x3, y3));
            h3 += vec4<f32>(dot(x3, y4), dot(x3, y5), dot(x3, y6), dot(x3, y7));
            let x4 = a4[ra4 + k];
            l4 += vec4<f32>(dot(x4, y0), dot(x4, y1), dot(x4, y2), dot(x4, y3));
            h4 += vec4<f32>(dot(x4, y4), dot(x4, y5), dot(x4, y6), dot(x4, y7));
            let x5 = a4[ra5 + k];
            l5 += vec4<f32>(dot(x5, y0), dot(x5, y1), dot(x5, y2), dot(x5, y3));
            h5 += vec4<f32>(dot(x5, y4), dot(x5, y5), dot(x5, y6), dot(x5, y7));
            let x6 = a4[ra6 + k];
            l6 += vec4<f32>(dot(x6, y0), dot(x6, y1), dot(x6, y2), dot(x6, y3));
            h6 += vec4<f32>(dot(x6, y4), dot(x6, y5), dot(x6, y6), dot(x6, y7));
            let x7 = a4[ra7 + k];
            l7 += vec4<f32>(dot(x7, y0), dot(x7, y1), dot(x7, y2), dot(x7, y3));
            h7 += vec4<f32>(dot(x7, y4), dot(x7, y5), dot(x7, y6), dot(x7, y7));
        }
        // The k % 4 tail, scalar (rows are vec4-aligned, the extent need not be).
        for (var k = k4n * 4u; k < p.k; k++) {
            let y = array<f32, 8>(b[rb0 * 4u + k], b[rb1 * 4u + k], b[rb2 * 4u + k],
                b[rb3 * 4u + k], b[rb4 * 4u + k], b[rb5 * 4u + k], b[rb6 * 4u + k],
                b[rb7 * 4u + k]);
            let ylo = vec4<f32>(y[0], y[1], y[2], y[3]);
            let yhi = vec4<f32>(y[4], y[5], y[6], y[7]);
            l0 = fma(vec4<f32>(a[ra0 * 4u + k]), ylo, l0);
            h0 = fma(vec4<f32>(a[ra0 * 4u + k]), yhi, h0);
            l1 = fma(vec4<f32>(a[ra1 * 4u + k]), ylo, l1);
            h1 = fma(vec4<f32>(a[ra1 * 4u + k]), yhi, h1);
            l2 = fma(vec4<f32>(a[ra2 * 4u + k]), ylo, l2);
            h2 = fma(vec4<f32>(a[ra2 * 4u + k]), yhi, h2);
            l3 = fma(vec4<f32>(a[ra3 * 4u + k]), ylo, l3);
            h3 = fma(vec4<f32>(a[ra3 * 4u + k]), yhi, h3);
            l4 = fma(vec4<f32>(a[ra4 * 4u + k]), ylo, l4);
            h4 = fma(vec4<f32>(a[ra4 * 4u + k]), yhi, h4);
            l5 = fma(vec4<f32>(a[ra5 * 4u + k]), ylo, l5);
            h5 = fma(vec4<f32>(a[ra5 * 4u + k]), yhi, h5);
            l6 = fma(vec4<f32>(a[ra6 * 4u + k]), ylo, l6);
            h6 = fma(vec4<f32>(a[ra6 * 4u + k]), yhi, h6);
            l7 = fma(vec4<f32>(a[ra7 * 4u + k]), ylo, l7);
            h7 = fma(vec4<f32>(a[ra7 * 4u + k]), yhi, h7);
        }
    } else {
        // n is a multiple of 4: the high four columns are all in or all out (clamped for the
        // loads when out).
        let cbl = (b0 + col) / 4u;
        let cbh = (b0 + min(col + 4u, p.n - 4u)) / 4u;
        let ld4 = p.ldb / 4u;
        let kv = p.k / 4u * 4u;
        for (var k = 0u; k < kv; k += 4u) {
            let yl0 = b4[cbl + (k + 0u) * ld4];
            let yh0 = b4[cbh + (k + 0u) * ld4];
            let yl1 = b4[cbl + (k + 1u) * ld4];
            let yh1 = b4[cbh + (k + 1u) * ld4];
            let yl2 = b4[cbl + (k + 2u) * ld4];
            let yh2 = b4[cbh + (k + 2u) * ld4];
            let yl3 = b4[cbl + (k + 3u) * ld4];
            let yh3 = b4[cbh + (k + 3u) * ld4];
            let k4 = k / 4u;
            let x0 = a4[ra0 + k4];
            l0 = fma(vec4<f32>(x0.x), yl0, fma(vec4<f32>(x0.y), yl1, fma(vec4<f32>(x0.z), yl2, fma(vec4<f32>(x0.w), yl3, l0))));
            h0 = fma(vec4<f32>(x0.x), yh0, fma(vec4<f32>(x0.y), yh1, fma(vec4<f32>(x0.z), yh2, fma(vec4<f32>(x0.w), yh3, h0))));
            let x1 = a4[ra1 + k4];
            l1 = fma(vec4<f32>(x1.x), yl0, fma(vec4<f32>(x1.y), yl1, fma(vec4<f32>(x1.z), yl2, fma(vec4<f32>(x1.w), yl3, l1))));
            h1 = fma(vec4<f32>(x1.x), yh0, fma(vec4<f32>(x1.y), yh1, fma(vec4<f32>(x1.z), yh2, fma(vec4<f32>(x1.w), yh3, h1))));
            let x2 = a4[ra2 + k4];
            l2 = fma(vec4<f32>(x2.x), yl0, fma(vec4<f32>(x2.y), yl1, fma(vec4<f32>(x2.z), yl2, fma(vec4<f32>(x2.w), yl3, l2))));
            h2 = fma(vec4<f32>(x2.x), yh0, fma(vec4<f32>(x2.y), yh1, fma(vec4<f32>(x2.z), yh2, fma(vec4<f32>(x2.w), yh3, h2))));
            let x3 = a4[ra3 + k4];
            l3 = fma(vec4<f32>(x3.x), yl0, fma(vec4<f32>(x3.y), yl1, fma(vec4<f32>(x3.z), yl2, fma(vec4<f32>(x3.w), yl3, l3))));
            h3 = fma(vec4<f32>(x3.x), yh0, fma(vec4<f32>(x3.y), yh1, fma(vec4<f32>(x3.z), yh2, fma(vec4<f32>(x3.w), yh3, h3))));
            let x4 = a4[ra4 + k4];
            l4 = fma(vec4<f32>(x4.x), yl0, fma(vec4<f32>(x4.y), yl1, fma(vec4<f32>(x4.z), yl2, fma(vec4<f32>(x4.w), yl3, l4))));
            h4 = fma(vec4<f32>(x4.x), yh0, fma(vec4<f32>(x4.y), yh1, fma(vec4<f32>(x4.z), yh2, fma(vec4<f32>(x4.w), yh3, h4))));
            let x5 = a4[ra5 + k4];
            l5 = fma(vec4<f32>(x5.x), yl0, fma(vec4<f32>(x5.y), yl1, fma(vec4<f32>(x5.z), yl2, fma(vec4<f32>(x5.w), yl3, l5))));
            h5 = fma(vec4<f32>(x5.x), yh0, fma(vec4<f32>(x5.y), yh1, fma(vec4<f32>(x5.z), yh2, fma(vec4<f32>(x5.w), yh3, h5))));
            let x6 = a4[ra6 + k4];
            l6 = fma(vec4<f32>(x6.x), yl0, fma(vec4<f32>(x6.y), yl1, fma(vec4<f32>(x6.z), yl2, fma(vec4<f32>(x6.w), yl3, l6))));
            h6 = fma(vec4<f32>(x6.x), yh0, fma(vec4<f32>(x6.y), yh1, fma(vec4<f32>(x6.z), yh2, fma(vec4<f32>(x6.w), yh3, h6))));
            let x7 = a4[ra7 + k4];
            l7 = fma(vec4<f32>(x7.x), yl0, fma(vec4<f32>(x7.y), yl1, fma(vec4<f32>(x7.z), yl2, fma(vec4<f32>(x7.w), yl3, l7))));
            h7 = fma(vec4<f32>(x7.x), yh0, fma(vec4<f32>(x7.y), yh1, fma(vec4<f32>(x7.z), yh2, fma(vec4<f32>(x7.w), yh3, h7))));
        }
        for (var k = kv; k < p.k; k++) {
            let yl = b4[cbl + k * ld4];
            let yh = b4[cbh + k * ld4];
            l0 = fma(vec4<f32>(a[ra0 * 4u + k]), yl, l0);
            h0 = fma(vec4<f32>(a[ra0 * 4u + k]), yh, h0);
            l1 = fma(vec4<f32>(a[ra1 * 4u + k]), yl, l1);
            h1 = fma(vec4<f32>(a[ra1 * 4u + k]), yh, h1);
            l2 = fma(vec4<f32>(a[ra2 * 4u + k]), yl, l2);
            h2 = fma(vec4<f32>(a[ra2 * 4u + k]), yh, h2);
            l3 = fma(vec4<f32>(a[ra3 * 4u + k]), yl, l3);
            h3 = fma(vec4<f32>(a[ra3 * 4u + k]), yh, h3);
            l4 = fma(vec4<f32>(a[ra4 * 4u + k]), yl, l4);
            h4 = fma(vec4<f32>(a[ra4 * 4u + k]), yh, h4);
            l5 = fma(vec4<f32>(a[ra5 * 4u + k]), yl, l5);
            h5 = fma(vec4<f32>(a[ra5 * 4u + k]), yh, h5);
            l6 = fma(vec4<f32>(a[ra6 * 4u + k]), yl, l6);
            h6 = fma(vec4<f32>(a[ra6 * 4u + k]), yh, h6);
            l7 = fma(vec4<f32>(a[ra7 * 4u + k]), yl, l7);
            h7 = fma(vec4<f32>(a[ra7 * 4u + k]), yh, h7);
        }
    }
    store4(c0, e0, row + 0u, col, l0);
    store4(c0, e0, row + 0u, col + 4u, h0);
    store4(c0, e0, row + 1u, col, l1);
    store4(c0, e0, row + 1u, col + 4u, h1);
    store4(c0, e0, row + 2u, col, l2);
    store4(c0, e0, row + 2u, col + 4u, h2);
    store4(c0, e0, row + 3u, col, l3);
    store4(c0, e0, row + 3u, col + 4u, h3);
    store4(c0, e0, row + 4u, col, l4);
    store4(c0, e0, row + 4u, col + 4u, h4);
    store4(c0, e0, row + 5u, col, l5);
    store4(c0, e0, row + 5u, col + 4u, h5);
    store4(c0, e0, row + 6u, col, l6);
    store4(c0, e0, row + 6u, col + 4u, h6);
    store4(c0, e0, row + 7u, col, l7);
    store4(c0, e0, row + 7u, col + 4u, h7);
}

// The same with a 16×8 block per invocation (rows row0 + 16*lid.y + i): 96 loads feed 512 FMAs.
// Its 32 accumulators spill on 16-register SIMD, but spills are plain loads and stores, cheaper
// than the gathers they save (on lavapipe about 25% faster than 8×8; the default there).
// A workgroup of 8×2 invocations covers the same 64 columns × 32 rows.
@compute @workgroup_size(8, 2, 1)
fn main_reg16(@builtin(workgroup_id) wid: vec3<u32>,
             @builtin(local_invocation_id) lid: vec3<u32>) {
    let outer = wid.z / p.batch_inner;
    let inner = wid.z % p.batch_inner;
    let a0 = p.a_off + outer * p.a_so + inner * p.a_si;
    let b0 = p.b_off + outer * p.b_so + inner * p.b_si;
    let c0 = p.c_off + outer * p.c_so + inner * p.c_si;
    let e0 = p.e_off + outer * p.e_so + inner * p.e_si;
    let row = wid.y * 32u + 16u * lid.y;
    let col = wid.x * 64u + 8u * lid.x;
    if (row >= p.m || col >= p.n) {
        return;
    }
    let rl = p.m - 1u;
    let cl = p.n - 1u;
    let ra0 = (a0 + min(row + 0u, rl) * p.lda) / 4u;
    let ra1 = (a0 + min(row + 1u, rl) * p.lda) / 4u;
    let ra2 = (a0 + min(row + 2u, rl) * p.lda) / 4u;
    let ra3 = (a0 + min(row + 3u, rl) * p.lda) / 4u;
    let ra4 = (a0 + min(row + 4u, rl) * p.lda) / 4u;
    let ra5 = (a0 + min(row + 5u, rl) * p.lda) / 4u;
    let ra6 = (a0 + min(row + 6u, rl) * p.lda) / 4u;
    let ra7 = (a0 + min(row + 7u, rl) * p.lda) / 4u;
    let ra8 = (a0 + min(row + 8u, rl) * p.lda) / 4u;
    let ra9 = (a0 + min(row + 9u, rl) * p.lda) / 4u;
    let ra10 = (a0 + min(row + 10u, rl) * p.lda) / 4u;
    let ra11 = (a0 + min(row + 11u, rl) * p.lda) / 4u;
    let ra12 = (a0 + min(row + 12u, rl) * p.lda) / 4u;
    let ra13 = (a0 + min(row + 13u, rl) * p.lda) / 4u;
    let ra14 = (a0 + min(row + 14u, rl) * p.lda) / 4u;
    let ra15 = (a0 + min(row + 15u, rl) * p.lda) / 4u;
    var l0 = vec4<f32>(0.0);
    var h0 = vec4<f32>(0.0);
    var l1 = vec4<f32>(0.0);
    var h1 = vec4<f32>(0.0);
    var l2 = vec4<f32>(0.0);
    var h2 = vec4<f32>(0.0);
    var l3 = vec4<f32>(0.0);
    var h3 = vec4<f32>(0.0);
    var l4 = vec4<f32>(0.0);
    var h4 = vec4<f32>(0.0);
    var l5 = vec4<f32>(0.0);
    var h5 = vec4<f32>(0.0);
    var l6 = vec4<f32>(0.0);
    var h6 = vec4<f32>(0.0);
    var l7 = vec4<f32>(0.0);
    var h7 = vec4<f32>(0.0);
    var l8 = vec4<f32>(0.0);
    var h8 = vec4<f32>(0.0);
    var l9 = vec4<f32>(0.0);
    var h9 = vec4<f32>(0.0);
    var l10 = vec4<f32>(0.0);
    var h10 = vec4<f32>(0.0);
    var l11 = vec4<f32>(0.0);
    var h11 = vec4<f32>(0.0);
    var l12 = vec4<f32>(0.0);
    var h12 = vec4<f32>(0.0);
    var l13 = vec4<f32>(0.0);
    var h13 = vec4<f32>(0.0);
    var l14 = vec4<f32>(0.0);
    var h14 = vec4<f32>(0.0);
    var l15 = vec4<f32>(0.0);
    var h15 = vec4<f32>(0.0);
    if (TRANS_B) {
        let rb0 = (b0 + min(col + 0u, cl) * p.ldb) / 4u;
        let rb1 = (b0 + min(col + 1u, cl) * p.ldb) / 4u;
        let rb2 = (b0 + min(col + 2u, cl) * p.ldb) / 4u;
        let rb3 = (b0 + min(col + 3u, cl) * p.ldb) / 4u;
        let rb4 = (b0 + min(col + 4u, cl) * p.ldb) / 4u;
        let rb5 = (b0 + min(col + 5u, cl) * p.ldb) / 4u;
        let rb6 = (b0 + min(col + 6u, cl) * p.ldb) / 4u;
        let rb7 = (b0 + min(col + 7u, cl) * p.ldb) / 4u;
        let k4n = p.k / 4u;
        for (var k = 0u; k < k4n; k++) {
            let y0 = b4[rb0 + k];
            let y1 = b4[rb1 + k];
            let y2 = b4[rb2 + k];
            let y3 = b4[rb3 + k];
            let y4 = b4[rb4 + k];
            let y5 = b4[rb5 + k];
            let y6 = b4[rb6 + k];
            let y7 = b4[rb7 + k];
            let x0 = a4[ra0 + k];
            l0 += vec4<f32>(dot(x0, y0), dot(x0, y1), dot(x0, y2), dot(x0, y3));
            h0 += vec4<f32>(dot(x0, y4), dot(x0, y5), dot(x0, y6), dot(x0, y7));
            let x1 = a4[ra1 + k];
            l1 += vec4<f32>(dot(x1, y0), dot(x1, y1), dot(x1, y2), dot(x1, y3));
            h1 += vec4<f32>(dot(x1, y4), dot(x1, y5), dot(x1, y6), dot(x1, y7));
            let x2 = a4[ra2 + k];
            l2 += vec4<f32>(dot(x2, y0), dot(x2, y1), dot(x2, y2), dot(x2, y3));
            h2 += vec4<f32>(dot(x2, y4), dot(x2, y5), dot(x2, y6), dot(x2, y7));
            let x3 = a4[ra3 + k];
            l3 += vec4<f32>(dot(x3, y0), dot(x3, y1), dot(x3, y2), dot(x3, y3));
            h3 += vec4<f32>(dot(x3, y4), dot(x3, y5), dot(x3, y6), dot(x3, y7));
            let x4 = a4[ra4 + k];
            l4 += vec4<f32>(dot(x4, y0), dot(x4, y1), dot(x4, y2), dot(x4, y3));
            h4 += vec4<f32>(dot(x4, y4), dot(x4, y5), dot(x4, y6), dot(x4, y7));
            let x5 = a4[ra5 + k];
            l5 += vec4<f32>(dot(x5, y0), dot(x5, y1), dot(x5, y2), dot(x5, y3));
            h5 += vec4<f32>(dot(x5, y4), dot(x5, y5), dot(x5, y6), dot(x5, y7));
            let x6 = a4[ra6 + k];
            l6 += vec4<f32>(dot(x6, y0), dot(x6, y1), dot(x6, y2), dot(x6, y3));
            h6 += vec4<f32>(dot(x6, y4), dot(x6, y5), dot(x6, y6), dot(x6, y7));
            let x7 = a4[ra7 + k];
            l7 += vec4<f32>(dot(x7, y0), dot(x7, y1), dot(x7, y2), dot(x7, y3));
            h7 += vec4<f32>(dot(x7, y4), dot(x7, y5), dot(x7, y6), dot(x7, y7));
            let x8 = a4[ra8 + k];
            l8 += vec4<f32>(dot(x8, y0), dot(x8, y1), dot(x8, y2), dot(x8, y3));
            h8 += vec4<f32>(dot(x8, y4), dot(x8, y5), dot(x8, y6), dot(x8, y7));
            let x9 = a4[ra9 + k];
            l9 += vec4<f32>(dot(x9, y0), dot(x9, y1), dot(x9, y2), dot(x9, y3));
            h9 += vec4<f32>(dot(x9, y4), dot(x9, y5), dot(x9, y6), dot(x9, y7));
            let x10 = a4[ra10 + k];
            l10 += vec4<f32>(dot(x10, y0), dot(x10, y1), dot(x10, y2), dot(x10, y3));
            h10 += vec4<f32>(dot(x10, y4), dot(x10, y5), dot(x10, y6), dot(x10, y7));
            let x11 = a4[ra11 + k];
            l11 += vec4<f32>(dot(x11, y0), dot(x11, y1), dot(x11, y2), dot(x11, y3));
            h11 += vec4<f32>(dot(x11, y4), dot(x11, y5), dot(x11, y6), dot(x11, y7));
            let x12 = a4[ra12 + k];
            l12 += vec4<f32>(dot(x12, y0), dot(x12, y1), dot(x12, y2), dot(x12, y3));
            h12 += vec4<f32>(dot(x12, y4), dot(x12, y5), dot(x12, y6), dot(x12, y7));
            let x13 = a4[ra13 + k];
            l13 += vec4<f32>(dot(x13, y0), dot(x13, y1), dot(x13, y2), dot(x13, y3));
            h13 += vec4<f32>(dot(x13, y4), dot(x13, y5), dot(x13, y6), dot(x13, y7));
            let x14 = a4[ra14 + k];
            l14 += vec4<f32>(dot(x14, y0), dot(x14, y1), dot(x14, y2), dot(x14, y3));
            h14 += vec4<f32>(dot(x14, y4), dot(x14, y5), dot(x14, y6), dot(x14, y7));
            let x15 = a4[ra15 + k];
            l15 += vec4<f32>(dot(x15, y0), dot(x15, y1), dot(x15, y2), dot(x15, y3));
            h15 += vec4<f32>(dot(x15, y4), dot(x15, y5), dot(x15, y6), dot(x15, y7));
        }
        for (var k = k4n * 4u; k < p.k; k++) {
            let ylo = vec4<f32>(b[rb0 * 4u + k], b[rb1 * 4u + k], b[rb2 * 4u + k], b[rb3 * 4u + k]);
            let yhi = vec4<f32>(b[rb4 * 4u + k], b[rb5 * 4u + k], b[rb6 * 4u + k], b[rb7 * 4u + k]);
            l0 = fma(vec4<f32>(a[ra0 * 4u + k]), ylo, l0);
            h0 = fma(vec4<f32>(a[ra0 * 4u + k]), yhi, h0);
            l1 = fma(vec4<f32>(a[ra1 * 4u + k]), ylo, l1);
            h1 = fma(vec4<f32>(a[ra1 * 4u + k]), yhi, h1);
            l2 = fma(vec4<f32>(a[ra2 * 4u + k]), ylo, l2);
            h2 = fma(vec4<f32>(a[ra2 * 4u + k]), yhi, h2);
            l3 = fma(vec4<f32>(a[ra3 * 4u + k]), ylo, l3);
            h3 = fma(vec4<f32>(a[ra3 * 4u + k]), yhi, h3);
            l4 = fma(vec4<f32>(a[ra4 * 4u + k]), ylo, l4);
            h4 = fma(vec4<f32>(a[ra4 * 4u + k]), yhi, h4);
            l5 = fma(vec4<f32>(a[ra5 * 4u + k]), ylo, l5);
            h5 = fma(vec4<f32>(a[ra5 * 4u + k]), yhi, h5);
            l6 = fma(vec4<f32>(a[ra6 * 4u + k]), ylo, l6);
            h6 = fma(vec4<f32>(a[ra6 * 4u + k]), yhi, h6);
            l7 = fma(vec4<f32>(a[ra7 * 4u + k]), ylo, l7);
            h7 = fma(vec4<f32>(a[ra7 * 4u + k]), yhi, h7);
            l8 = fma(vec4<f32>(a[ra8 * 4u + k]), ylo, l8);
            h8 = fma(vec4<f32>(a[ra8 * 4u + k]), yhi, h8);
            l9 = fma(vec4<f32>(a[ra9 * 4u + k]), ylo, l9);
            h9 = fma(vec4<f32>(a[ra9 * 4u + k]), yhi, h9);
            l10 = fma(vec4<f32>(a[ra10 * 4u + k]), ylo, l10);
            h10 = fma(vec4<f32>(a[ra10 * 4u + k]), yhi, h10);
            l11 = fma(vec4<f32>(a[ra11 * 4u + k]), ylo, l11);
            h11 = fma(vec4<f32>(a[ra11 * 4u + k]), yhi, h11);
            l12 = fma(vec4<f32>(a[ra12 * 4u + k]), ylo, l12);
            h12 = fma(vec4<f32>(a[ra12 * 4u + k]), yhi, h12);
            l13 = fma(vec4<f32>(a[ra13 * 4u + k]), ylo, l13);
            h13 = fma(vec4<f32>(a[ra13 * 4u + k]), yhi, h13);
            l14 = fma(vec4<f32>(a[ra14 * 4u + k]), ylo, l14);
            h14 = fma(vec4<f32>(a[ra14 * 4u + k]), yhi, h14);
            l15 = fma(vec4<f32>(a[ra15 * 4u + k]), ylo, l15);
            h15 = fma(vec4<f32>(a[ra15 * 4u + k]), yhi, h15);
        }
    } else {
        let cbl = (b0 + col) / 4u;
        let cbh = (b0 + min(col + 4u, p.n - 4u)) / 4u;
        let ld4 = p.ldb / 4u;
        let kv = p.k / 4u * 4u;
        for (var k = 0u; k < kv; k += 4u) {
            let yl0 = b4[cbl + (k + 0u) * ld4];
            let yh0 = b4[cbh + (k + 0u) * ld4];
            let yl1 = b4[cbl + (k + 1u) * ld4];
            let yh1 = b4[cbh + (k + 1u) * ld4];
            let yl2 = b4[cbl + (k + 2u) * ld4];
            let yh2 = b4[cbh + (k + 2u) * ld4];
            let yl3 = b4[cbl + (k + 3u) * ld4];
            let yh3 = b4[cbh + (k + 3u) * ld4];
            let k4 = k / 4u;
            let x0 = a4[ra0 + k4];
            l0 = fma(vec4<f32>(x0.x), yl0, fma(vec4<f32>(x0.y), yl1, fma(vec4<f32>(x0.z), yl2, fma(vec4<f32>(x0.w), yl3, l0))));
            h0 = fma(vec4<f32>(x0.x), yh0, fma(vec4<f32>(x0.y), yh1, fma(vec4<f32>(x0.z), yh2, fma(vec4<f32>(x0.w), yh3, h0))));
            let x1 = a4[ra1 + k4];
            l1 = fma(vec4<f32>(x1.x), yl0, fma(vec4<f32>(x1.y), yl1, fma(vec4<f32>(x1.z), yl2, fma(vec4<f32>(x1.w), yl3, l1))));
            h1 = fma(vec4<f32>(x1.x), yh0, fma(vec4<f32>(x1.y), yh1, fma(vec4<f32>(x1.z), yh2, fma(vec4<f32>(x1.w), yh3, h1))));
            let x2 = a4[ra2 + k4];
            l2 = fma(vec4<f32>(x2.x), yl0, fma(vec4<f32>(x2.y), yl1, fma(vec4<f32>(x2.z), yl2, fma(vec4<f32>(x2.w), yl3, l2))));
            h2 = fma(vec4<f32>(x2.x), yh0, fma(vec4<f32>(x2.y), yh1, fma(vec4<f32>(x2.z), yh2, fma(vec4<f32>(x2.w), yh3, h2))));
            let x3 = a4[ra3 + k4];
            l3 = fma(vec4<f32>(x3.x), yl0, fma(vec4<f32>(x3.y), yl1, fma(vec4<f32>(x3.z), yl2, fma(vec4<f32>(x3.w), yl3, l3))));
            h3 = fma(vec4<f32>(x3.x), yh0, fma(vec4<f32>(x3.y), yh1, fma(vec4<f32>(x3.z), yh2, fma(vec4<f32>(x3.w), yh3, h3))));
            let x4 = a4[ra4 + k4];
            l4 = fma(vec4<f32>(x4.x), yl0, fma(vec4<f32>(x4.y), yl1, fma(vec4<f32>(x4.z), yl2, fma(vec4<f32>(x4.w), yl3, l4))));
            h4 = fma(vec4<f32>(x4.x), yh0, fma(vec4<f32>(x4.y), yh1, fma(vec4<f32>(x4.z), yh2, fma(vec4<f32>(x4.w), yh3, h4))));
            let x5 = a4[ra5 + k4];
            l5 = fma(vec4<f32>(x5.x), yl0, fma(vec4<f32>(x5.y), yl1, fma(vec4<f32>(x5.z), yl2, fma(vec4<f32>(x5.w), yl3, l5))));
            h5 = fma(vec4<f32>(x5.x), yh0, fma(vec4<f32>(x5.y), yh1, fma(vec4<f32>(x5.z), yh2, fma(vec4<f32>(x5.w), yh3, h5))));
            let x6 = a4[ra6 + k4];
            l6 = fma(vec4<f32>(x6.x), yl0, fma(vec4<f32>(x6.y), yl1, fma(vec4<f32>(x6.z), yl2, fma(vec4<f32>(x6.w), yl3, l6))));
            h6 = fma(vec4<f32>(x6.x), yh0, fma(vec4<f32>(x6.y), yh1, fma(vec4<f32>(x6.z), yh2, fma(vec4<f32>(x6.w), yh3, h6))));
            let x7 = a4[ra7 + k4];
            l7 = fma(vec4<f32>(x7.x), yl0, fma(vec4<f32>(x7.y), yl1, fma(vec4<f32>(x7.z), yl2, fma(vec4<f32>(x7.w), yl3, l7))));
            h7 = fma(vec4<f32>(x7.x), yh0, fma(vec4<f32>(x7.y), yh1, fma(vec4<f32>(x7.z), yh2, fma(vec4<f32>(x7.w), yh3, h7))));
            let x8 = a4[ra8 + k4];
            l8 = fma(vec4<f32>(x8.x), yl0, fma(vec4<f32>(x8.y), yl1, fma(vec4<f32>(x8.z), yl2, fma(vec4<f32>(x8.w), yl3, l8))));
            h8 = fma(vec4<f32>(x8.x), yh0, fma(vec4<f32>(x8.y), yh1, fma(vec4<f32>(x8.z), yh2, fma(vec4<f32>(x8.w), yh3, h8))));
            let x9 = a4[ra9 + k4];
            l9 = fma(vec4<f32>(x9.x), yl0, fma(vec4<f32>(x9.y), yl1, fma(vec4<f32>(x9.z), yl2, fma(vec4<f32>(x9.w), yl3, l9))));
            h9 = fma(vec4<f32>(x9.x), yh0, fma(vec4<f32>(x9.y), yh1, fma(vec4<f32>(x9.z), yh2, fma(vec4<f32>(x9.w), yh3, h9))));
            let x10 = a4[ra10 + k4];
            l10 = fma(vec4<f32>(x10.x), yl0, fma(vec4<f32>(x10.y), yl1, fma(vec4<f32>(x10.z), yl2, fma(vec4<f32>(x10.w), yl3, l10))));
            h10 = fma(vec4<f32>(x10.x), yh0, fma(vec4<f32>(x10.y), yh1, fma(vec4<f32>(x10.z), yh2, fma(vec4<f32>(x10.w), yh3, h10))));
            let x11 = a4[ra11 + k4];
            l11 = fma(vec4<f32>(x11.x), yl0, fma(vec4<f32>(x11.y), yl1, fma(vec4<f32>(x11.z), yl2, fma(vec4<f32>(x11.w), yl3, l11))));
            h11 = fma(vec4<f32>(x11.x), yh0, fma(vec4<f32>(x11.y), yh1, fma(vec4<f32>(x11.z), yh2, fma(vec4<f32>(x11.w), yh3, h11))));
            let x12 = a4[ra12 + k4];
            l12 = fma(vec4<f32>(x12.x), yl0, fma(vec4<f32>(x12.y), yl1, fma(vec4<f32>(x12.z), yl2, fma(vec4<f32>(x12.w), yl3, l12))));
            h12 = fma(vec4<f32>(x12.x), yh0, fma(vec4<f32>(x12.y), yh1, fma(vec4<f32>(x12.z), yh2, fma(vec4<f32>(x12.w), yh3, h12))));
            let x13 = a4[ra13 + k4];
            l13 = fma(vec4<f32>(x13.x), yl0, fma(vec4<f32>(x13.y), yl1, fma(vec4<f32>(x13.z), yl2, fma(vec4<f32>(x13.w), yl3, l13))));
            h13 = fma(vec4<f32>(x13.x), yh0, fma(vec4<f32>(x13.y), yh1, fma(vec4<f32>(x13.z), yh2, fma(vec4<f32>(x13.w), yh3, h13))));
            let x14 = a4[ra14 + k4];
            l14 = fma(vec4<f32>(x14.x), yl0, fma(vec4<f32>(x14.y), yl1, fma(vec4<f32>(x14.z), yl2, fma(vec4<f32>(x14.w), yl3, l14))));
            h14 = fma(vec4<f32>(x14.x), yh0, fma(vec4<f32>(x14.y), yh1, fma(vec4<f32>(x14.z), yh2, fma(vec4<f32>(x14.w), yh3, h14))));
            let x15 = a4[ra15 + k4];
            l15 = fma(vec4<f32>(x15.x), yl0, fma(vec4<f32>(x15.y), yl1, fma(vec4<f32>(x15.z), yl2, fma(vec4<f32>(x15.w), yl3, l15))));
            h15 = fma(vec4<f32>(x15.x), yh0, fma(vec4<f32>(x15.y), yh1, fma(vec4<f32>(x15.z), yh2, fma(vec4<f32>(x15.w), yh3, h15))));
        }
        for (var k = kv; k < p.k; k++) {
            let yl = b4[cbl + k * ld4];
            let yh = b4[cbh + k * ld4];
            l0 = fma(vec4<f32>(a[ra0 * 4u + k]), yl, l0);
            h0 = fma(vec4<f32>(a[ra0 * 4u + k]), yh, h0);
            l1 = fma(vec4<f32>(a[ra1 * 4u + k]), yl, l1);
            h1 = fma(vec4<f32>(a[ra1 * 4u + k]), yh, h1);
            l2 = fma(vec4<f32>(a[ra2 * 4u + k]), yl, l2);
            h2 = fma(vec4<f32>(a[ra2 * 4u + k]), yh, h2);
            l3 = fma(vec4<f32>(a[ra3 * 4u + k]), yl, l3);
            h3 = fma(vec4<f32>(a[ra3 * 4u + k]), yh, h3);
            l4 = fma(vec4<f32>(a[ra4 * 4u + k]), yl, l4);
            h4 = fma(vec4<f32>(a[ra4 * 4u + k]), yh, h4);
            l5 = fma(vec4<f32>(a[ra5 * 4u + k]), yl, l5);
            h5 = fma(vec4<f32>(a[ra5 * 4u + k]), yh, h5);
            l6 = fma(vec4<f32>(a[ra6 * 4u + k]), yl, l6);
            h6 = fma(vec4<f32>(a[ra6 * 4u + k]), yh, h6);
            l7 = fma(vec4<f32>(a[ra7 * 4u + k]), yl, l7);
            h7 = fma(vec4<f32>(a[ra7 * 4u + k]), yh, h7);
            l8 = fma(vec4<f32>(a[ra8 * 4u + k]), yl, l8);
            h8 = fma(vec4<f32>(a[ra8 * 4u + k]), yh, h8);
            l9 = fma(vec4<f32>(a[ra9 * 4u + k]), yl, l9);
            h9 = fma(vec4<f32>(a[ra9 * 4u + k]), yh, h9);
            l10 = fma(vec4<f32>(a[ra10 * 4u + k]), yl, l10);
            h10 = fma(vec4<f32>(a[ra10 * 4u + k]), yh, h10);
            l11 = fma(vec4<f32>(a[ra11 * 4u + k]), yl, l11);
            h11 = fma(vec4<f32>(a[ra11 * 4u + k]), yh, h11);
            l12 = fma(vec4<f32>(a[ra12 * 4u + k]), yl, l12);
            h12 = fma(vec4<f32>(a[ra12 * 4u + k]), yh, h12);
            l13 = fma(vec4<f32>(a[ra13 * 4u + k]), yl, l13);
            h13 = fma(vec4<f32>(a[ra13 * 4u + k]), yh, h13);
            l14 = fma(vec4<f32>(a[ra14 * 4u + k]), yl, l14);
            h14 = fma(vec4<f32>(a[ra14 * 4u + k]), yh, h14);
            l15 = fma(vec4<f32>(a[ra15 * 4u + k]), yl, l15);
            h15 = fma(vec4<f32>(a[ra15 * 4u + k]), yh, h15);
        }
    }
    store4(c0, e0, row + 0u, col, l0);
    store4(c0, e0, row + 0u, col + 4u, h0);
    store4(c0, e0, row + 1u, col, l1);
    store4(c0, e0, row + 1u, col + 4u, h1);
    store4(c0, e0, row + 2u, col, l2);
    store4(c0, e0, row + 2u, col + 4u, h2);
    store4(c0, e0, row + 3u, col, l3);
    store4(c0, e0, row + 3u, col + 4u, h3);
    store4(c0, e0, row + 4u, col, l4);
    store4(c0, e0, row + 4u, col + 4u, h4);
    store4(c0, e0, row + 5u, col, l5);
    store4(c0, e0, row + 5u, col + 4u, h5);
    store4(c0, e0, row + 6u, col, l6);
    store4(c0, e0, row + 6u, col + 4u, h6);
    store4(c0, e0, row + 7u, col, l7);
    store4(c0, e0, row + 7u, col + 4u, h7);
    store4(c0, e0, row + 8u, col, l8);
    store4(c0, e0, row + 8u, col + 4u, h8);
    store4(c0, e0, row + 9u, col, l9);
    store4(c0, e0, row + 9u, col + 4u, h9);
    store4(c0, e0, row + 10u, col, l10);
    store4(c0, e0, row + 10u, col + 4u, h10);
    store4(c0, e0, row + 11u, col, l11);
    store4(c0, e0, row + 11u, col + 4u, h11);
    store4(c0, e0, row + 12u, col, l12);
    store4(c0, e0, row + 12u, col + 4u, h12);
    store4(c0, e0, row + 13u, col, l13);
    store4(c0, e0, row + 13u, col + 4u, h13);
    store4(c0, e0, row + 14u, col, l14);
    store4(c0, e0, row + 14u, col + 4u, h14);
    store4(c0, e0, row + 15u, col, l15);
    store4(c0, e0, row + 15u, col + 4u, h15);
}
