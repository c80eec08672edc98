// mssa_backward.wgsl's two kernels for CPU-emulated adapters (lavapipe, SwiftShader): the same
// arithmetic, one invocation per output instead of one workgroup per row, no workgroup memory and
// no barriers, vec4 loads along the head's columns. Formulas (q = k = v = w_k):
//   dA = do_k w_k^T, dS = A ⊙ (dA - rowsum(dA ⊙ A)) * scale, dw_k = A^T do_k + (dS + dS^T) w_k.
// The host uses them when d and dh are multiples of 4 (w4/dout4 view w/dout as vec4, and every
// head's columns start on a vec4 boundary).
// `scores_grad_reg`: invocation (token i = gid.x, head k = gid.y, image b = gid.z) writes row i
//   of dS: a first pass stores dA[i, j] in ds and sums dA ⊙ A, a second rescales in place.
// `w_grad_reg`: invocation (4 columns c4 of head k and token i, flattened in gid.x; k = gid.y;
//   b = gid.z) accumulates its vec4 of dw over the key tokens j.

//! include common/mssa_backward_io.wgsl

@compute @workgroup_size(64, 1, 1)
fn scores_grad_reg(@builtin(global_invocation_id) gid: vec3<u32>) {
    let i = gid.x;
    if (i >= p.nt) {
        return;
    }
    let nt = p.nt;
    let d4 = p.d / 4u;
    let dh4 = p.dh / 4u;
    let q = query_row(i, gid.y, gid.z);
    var dot = 0.0;
    for (var j = 0u; j < nt; j++) {
        let wj = q.base + j * d4;
        var acc = vec4<f32>(0.0);
        for (var c = 0u; c < dh4; c++) {
            acc = fma(dout4[q.oi + c], w4[wj + c], acc);
        }
        dot = keep_da(true, q.prow, j, acc, dot);
    }
    rescale_ds_row(q.prow, dot);
}

@compute @workgroup_size(64, 1, 1)
fn w_grad_reg(@builtin(global_invocation_id) gid: vec3<u32>) {
    let dh4 = p.dh / 4u;
    let nt = p.nt;
    if (gid.x >= nt * dh4) {
        return;
    }
    let i = gid.x / dh4;
    let c4 = gid.x % dh4;
    let d4 = p.d / 4u;
    let head = query_row(0u, gid.y, gid.z);
    let col = head.base + c4;
    let pb = head.prow;
    var acc = vec4<f32>(0.0);
    for (var j = 0u; j < nt; j++) {
        let a = probs[pb + j * nt + i];
        let m = ds[pb + i * nt + j] + ds[pb + j * nt + i];
        acc = w_grad_term(acc, a, m, col + j * d4);
    }
    let out = (gid.z * nt + i) * p.d + (gid.y * dh4 + c4) * 4u;
    store_dw(out, acc);
}
