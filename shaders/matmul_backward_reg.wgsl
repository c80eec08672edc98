// `tn` of matmul_backward.wgsl for CPU-emulated adapters (lavapipe, SwiftShader), in the
// register-blocked style of matmul.wgsl's `main_reg*`: no workgroup memory, no barriers.
// C = alpha * A^T·B (+ C when ACCUM), A (k, m) and B (k, n) row-major, the weight gradient
// dW = dY^T X. Each invocation owns an 8×8 block of C (rows row..row+8 = columns of A, columns
// col..col+8 = columns of B) in eight pairs of vec4 accumulators and walks k once: per row of k,
// two vec4 loads from A, two from B and sixteen vec4 FMAs (an outer product). A workgroup of
// 8×8 invocations covers 64×64 outputs. Split-K exactly as `tn`: with ksplit > 0, workgroup z
// sums rows z*ksplit .. (z+1)*ksplit and writes its partial product at c_off + z*m*n.
// The host uses it when m, n, lda, ldb, a_off and b_off are multiples of 4 (a4/b4 view A and B
// as vec4); the upper four rows or columns of a block are then all in or all out (clamped for
// the loads when out, never stored).

//! include common/matmul_backward_io.wgsl

@compute @workgroup_size(8, 8, 1)
fn tn_reg(@builtin(workgroup_id) wid: vec3<u32>,
          @builtin(local_invocation_id) lid: vec3<u32>) {
    let row = (wid.y * 8u + lid.y) * 8u;
    let col = (wid.x * 8u + lid.x) * 8u;
    if (row >= p.m || col >= p.n) {
        return;
    }
    var kb = 0u;
    var ke = p.k;
    var c0 = p.c_off;
    if (p.ksplit > 0u) {
        kb = wid.z * p.ksplit;
        ke = min(p.k, kb + p.ksplit);
        c0 += wid.z * p.m * p.n;
    }
    let lda4 = p.lda / 4u;
    let ldb4 = p.ldb / 4u;
    let al = (p.a_off + row) / 4u;
    let ah = (p.a_off + min(row + 4u, p.m - 4u)) / 4u;
    let bl = (p.b_off + col) / 4u;
    let bh = (p.b_off + min(col + 4u, p.n - 4u)) / 4u;
//! for i in 0..8
    var l${i} = vec4<f32>(0.0);
    var h${i} = vec4<f32>(0.0);
//! end
    for (var k = kb; k < ke; k++) {
        let xl = a4[al + k * lda4];
        let xh = a4[ah + k * lda4];
        let yl = b4[bl + k * ldb4];
        let yh = b4[bh + k * ldb4];
//! expand common/tn_outer.wgsl
    }
//! for i in 0..8
    store4(c0, row + ${i}u, col, l${i});
    store4(c0, row + ${i}u, col + 4u, h${i});
//! end
}
