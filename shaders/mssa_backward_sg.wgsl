// mssa_backward_reg.wgsl's two kernels for CPU-emulated adapters with subgroups of 8 (lavapipe;
// the host uses them there when the head's vec4 count dh/4 is a multiple of 8): the same
// invocations, arithmetic and order (so the same bits), with the loads that every invocation of
// a subgroup makes at the same address made once and shared by subgroupBroadcast, since these
// adapters gather every load lane by lane.
// `scores_grad_sg8`: the eight invocations of a subgroup (eight query tokens i) read the same
//   key row w_j: each loads one vec4 of it per eight, and takes the others from its neighbours.
// `w_grad_sg8`: the eight invocations of a subgroup share the token i (dh/4 is a multiple of 8),
//   so the same probability and dS entries: each loads those of one key token j per eight.
// No invocation returns early (a broadcast from a lane that has left is undefined): those past
// the end are clamped for the loads and write nothing.

//! include common/mssa_backward_io.wgsl

@compute @workgroup_size(64, 1, 1)
fn scores_grad_sg8(@builtin(global_invocation_id) gid: vec3<u32>,
                   @builtin(subgroup_invocation_id) sid: u32) {
    let live = gid.x < p.nt;
    let i = min(gid.x, p.nt - 1u);
    let nt = p.nt;
    let d4 = p.d / 4u;
    let dh4 = p.dh / 4u;
    let base = gid.z * nt * d4 + gid.y * dh4;
    let oi = base + i * d4;
    let prow = ((gid.z * p.heads + gid.y) * nt + i) * nt;
    var dot = 0.0;
    for (var j = 0u; j < nt; j++) {
        let wj = base + j * d4;
        var acc = vec4<f32>(0.0);
        for (var c = 0u; c < dh4; c += 8u) {
            let mine = w4[wj + c + sid];
//! for t in 0..8
            acc = fma(dout4[oi + c + ${t}u], subgroupBroadcast(mine, ${t}u), acc);
//! end
        }
        let da = acc.x + acc.y + acc.z + acc.w;
        if (live) {
            ds[prow + j] = da;
        }
        dot = fma(da, probs[prow + j], dot);
    }
    if (live) {
        rescale_ds_row(prow, dot);
    }
}

@compute @workgroup_size(64, 1, 1)
fn w_grad_sg8(@builtin(global_invocation_id) gid: vec3<u32>,
              @builtin(subgroup_invocation_id) sid: u32) {
    let dh4 = p.dh / 4u;
    let nt = p.nt;
    let live = gid.x < nt * dh4;
    let g = min(gid.x, nt * dh4 - 1u);
    let i = g / dh4;
    let c4 = g % dh4;
    let d4 = p.d / 4u;
    let col = gid.z * nt * d4 + gid.y * dh4 + c4;
    let pb = (gid.z * p.heads + gid.y) * nt * nt;
    var acc = vec4<f32>(0.0);
    let jfull = nt / 8u * 8u;
    for (var j0 = 0u; j0 < jfull; j0 += 8u) {
        let js = j0 + sid;
        let a_s = probs[pb + js * nt + i];
        let m_s = ds[pb + i * nt + js] + ds[pb + js * nt + i];
//! for t in 0..8
        acc = w_grad_term(acc, subgroupBroadcast(a_s, ${t}u), subgroupBroadcast(m_s, ${t}u), col + (j0 + ${t}u) * d4);
//! end
    }
    for (var j = jfull; j < nt; j++) {
        let a = probs[pb + j * nt + i];
        let m = ds[pb + i * nt + j] + ds[pb + j * nt + i];
        acc = w_grad_term(acc, a, m, col + j * d4);
    }
    if (live) {
        let out = (gid.z * nt + i) * p.d + (gid.y * dh4 + c4) * 4u;
        store_dw(out, acc);
    }
}
