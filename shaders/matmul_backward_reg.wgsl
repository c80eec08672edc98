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
//! expand common/tn_start.wgsl
    for (var k = kb; k < ke; k++) {
//! expand common/tn_step.wgsl
    }
//! expand common/tn_store.wgsl
}
