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

//! include common/matmul_io.wgsl

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
    let at = bases(wid.z);
    let a0 = at.a;
    let b0 = at.b;
    let c0 = at.c;
    let e0 = at.e;
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

// For CPU-emulated adapters (lavapipe, SwiftShader): no workgroup memory and no barriers, which
// they emulate at a high cost, and which buy nothing where "global" memory is the CPU's cached
// RAM. Each invocation owns a 4×4 block (rows row0 + 4*lid.y + i, columns col0 + 4*lid.x + j)
// and keeps everything in named vec4 registers (no dynamically indexed arrays, which such
// compilers put in memory). Out-of-range rows and columns are clamped for the loads (their
// results are dropped by the epilogue), so the inner loop has no branches.
@compute @workgroup_size(8, 8, 1)
fn main_reg(@builtin(workgroup_id) wid: vec3<u32>,
            @builtin(local_invocation_id) lid: vec3<u32>) {
    let at = bases(wid.z);
    let a0 = at.a;
    let b0 = at.b;
    let c0 = at.c;
    let e0 = at.e;
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

// The CPU-adapter variants for vec4-aligned rows, generated from one template (see there): an
// 8×8 block per invocation in sixteen vec4 accumulators, so every 64 loads feed 256 FMAs (these
// adapters gather every load lane by lane: loads, not FMAs, are what costs)...
//! expand common/matmul_block.wgsl NAME=main_reg8 ROWS=8 WG_Y=4

// ... and a 16×8 block: 96 loads feed 512 FMAs. Its 32 accumulators spill on 16-register SIMD,
// but spills are plain loads and stores, cheaper than the gathers they save (on lavapipe about
// 25% faster than 8×8)...
//! expand common/matmul_block.wgsl NAME=main_reg16 ROWS=16 WG_Y=2

// ... and a 32×8 block, one invocation per 32 rows: 160 loads feed 1024 FMAs.
//! expand common/matmul_block.wgsl NAME=main_reg32 ROWS=32 WG_Y=1
