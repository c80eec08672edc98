// The template of matmul.wgsl's register-blocked kernels for CPU-emulated adapters, for
// vec4-aligned rows of B (its offsets, strides and leading dimension multiples of 4, and n too
// when B is not transposed) and of A unless A_ROWS4 is false (then `load_a4` reads A four
// scalars at a time); k may be anything: its k % 4 tail runs scalar. Expanded once per block
// height with NAME, ROWS (rows per invocation) and WG_Y = 32 / ROWS: each invocation owns a
// ROWS×8 block (rows row0 + ROWS*lid.y + i, columns col0 + 8*lid.x + j) in 2·ROWS named vec4
// accumulators, l_i for columns 0..3 and h_i for 4..7; the generator unrolls every loop over
// i and j, since these compilers put dynamically indexed arrays in memory. A workgroup of
// 8×WG_Y invocations covers 64 columns × 32 rows.

@compute @workgroup_size(8, ${WG_Y}, 1)
fn ${NAME}(@builtin(workgroup_id) wid: vec3<u32>,
           @builtin(local_invocation_id) lid: vec3<u32>) {
    let at = bases(wid.z);
    let a0 = at.a;
    let b0 = at.b;
    let c0 = at.c;
    let e0 = at.e;
    let row = wid.y * 32u + ${ROWS}u * lid.y;
    let col = wid.x * 64u + 8u * lid.x;
    if (row >= p.m || col >= p.n) {
        return;
    }
    let rl = p.m - 1u;
    let cl = p.n - 1u;
//! for i in 0..${ROWS}
    let fa${i} = a0 + min(row + ${i}u, rl) * p.lda;
//! end
//! for i in 0..${ROWS}
    var l${i} = vec4<f32>(0.0);
    var h${i} = vec4<f32>(0.0);
//! end
    if (TRANS_B) {
//! for j in 0..8
        let rb${j} = (b0 + min(col + ${j}u, cl) * p.ldb) / 4u;
//! end
        let k4n = p.k / 4u;
        for (var k = 0u; k < k4n; k++) {
//! for j in 0..8
            let y${j} = b4[rb${j} + k];
//! end
//! for i in 0..${ROWS}
            let x${i} = load_a4(fa${i} + k * 4u);
//! expand common/matmul_acc_t.wgsl X=x${i} L=l${i} H=h${i}
//! end
        }
        // The k % 4 tail, scalar (rows are vec4-aligned, the extent need not be).
        for (var k = k4n * 4u; k < p.k; k++) {
            let yl = vec4<f32>(b[rb0 * 4u + k], b[rb1 * 4u + k], b[rb2 * 4u + k], b[rb3 * 4u + k]);
            let yh = vec4<f32>(b[rb4 * 4u + k], b[rb5 * 4u + k], b[rb6 * 4u + k], b[rb7 * 4u + k]);
//! for i in 0..${ROWS}
            let x${i} = vec4<f32>(a[fa${i} + k]);
//! expand common/matmul_acc_1.wgsl X=x${i} L=l${i} H=h${i}
//! end
        }
    } else {
        // n is a multiple of 4: the high four columns are all in or all out (clamped for the
        // loads when out).
        let cbl = (b0 + col) / 4u;
        let cbh = (b0 + min(col + 4u, p.n - 4u)) / 4u;
        let ld4 = p.ldb / 4u;
        let kv = p.k / 4u * 4u;
        for (var k = 0u; k < kv; k += 4u) {
//! for j in 0..4
            let yl${j} = b4[cbl + (k + ${j}u) * ld4];
            let yh${j} = b4[cbh + (k + ${j}u) * ld4];
//! end
//! for i in 0..${ROWS}
            let x${i} = load_a4(fa${i} + k);
//! expand common/matmul_acc_n.wgsl X=x${i} L=l${i} H=h${i}
//! end
        }
        for (var k = kv; k < p.k; k++) {
            let yl = b4[cbl + k * ld4];
            let yh = b4[cbh + k * ld4];
//! for i in 0..${ROWS}
            let x${i} = vec4<f32>(a[fa${i} + k]);
//! expand common/matmul_acc_1.wgsl X=x${i} L=l${i} H=h${i}
//! end
        }
    }
//! for i in 0..${ROWS}
    store4(c0, e0, row + ${i}u, col, l${i});
    store4(c0, e0, row + ${i}u, col + 4u, h${i});
//! end
}
