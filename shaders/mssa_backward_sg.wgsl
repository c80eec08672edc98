// mssa_backward_reg.wgsl's two kernels for CPU-emulated adapters with subgroups of 8 (lavapipe;
// the host uses them there when the head's vec4 count dh/4 is a multiple of 8): the same
// invocations, arithmetic and order (so the same bits), with the loads that every invocation of
// a subgroup makes at the same address made once and shared by subgroupBroadcast, since these
// adapters gather every load lane by lane.
// `scores_grad_sg8`: the eight invocations of a subgroup (eight query tokens i) read the same
//   key row w_j: each loads one vec4 of it per eight, and takes the others from its neighbours.
//   `scores_grad_sg8_h8` and `_h16` (heads of 32 and 64: common/mssa_scores_sg.wgsl) also hold
//   the query row do_i in registers.
// `w_grad_sg8`: an invocation owns four tokens i (below); the eight invocations of a subgroup
//   share them (dh/4 is a multiple of 8), so the same probability and dS entries: each loads
//   those of one key token j per eight.
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
    let q = query_row(i, gid.y, gid.z);
    var dot = 0.0;
    for (var j = 0u; j < nt; j++) {
        let wj = q.base + j * d4;
        var acc = vec4<f32>(0.0);
        for (var c = 0u; c < dh4; c += 8u) {
            let mine = w4[wj + c + sid];
//! for t in 0..8
            acc = fma(dout4[q.oi + c + ${t}u], subgroupBroadcast(mine, ${t}u), acc);
//! end
        }
        dot = keep_da(live, q.prow, j, acc, dot);
    }
    if (live) {
        rescale_ds_row(q.prow, dot);
    }
}

// Four query tokens per invocation (`w_grad_sg8`'s rows first..first+3; the host dispatches
// ceil(nt / 4)·dh/4 invocations, W_GRAD_ROWS in gpu/backward/mssa.rs): each key token's two
// vectors do_j and w_j, loaded once, feed the four rows' accumulators, each of which adds its
// terms in `w_grad_reg`'s order.
const ROWS: u32 = 4u;

@compute @workgroup_size(64, 1, 1)
fn w_grad_sg8(@builtin(global_invocation_id) gid: vec3<u32>,
              @builtin(subgroup_invocation_id) sid: u32) {
    let dh4 = p.dh / 4u;
    let nt = p.nt;
    let cells = (nt + ROWS - 1u) / ROWS * dh4;
    let live = gid.x < cells;
    let g = min(gid.x, cells - 1u);
    let first = g / dh4 * ROWS;
    let c4 = g % dh4;
    let d4 = p.d / 4u;
    let head = query_row(0u, gid.y, gid.z);
    let col = head.base + c4;
    let pb = head.prow;
//! for r in 0..4
    let q${r} = min(first + ${r}u, nt - 1u);
    var acc${r} = vec4<f32>(0.0);
//! end
    let jfull = nt / 8u * 8u;
    for (var j0 = 0u; j0 < jfull; j0 += 8u) {
        let js = j0 + sid;
//! for r in 0..4
        let a${r} = probs[pb + js * nt + q${r}];
        let m${r} = ds[pb + q${r} * nt + js] + ds[pb + js * nt + q${r}];
//! end
//! for t in 0..8
        {
            let o = col + (j0 + ${t}u) * d4;
            let y = dout4[o];
            let v = w4[o];
//! for r in 0..4
            acc${r} = w_grad_step(acc${r}, subgroupBroadcast(a${r}, ${t}u), subgroupBroadcast(m${r}, ${t}u), y, v);
//! end
        }
//! end
    }
    for (var j = jfull; j < nt; j++) {
        let o = col + j * d4;
        let y = dout4[o];
        let v = w4[o];
//! for r in 0..4
        acc${r} = w_grad_step(acc${r}, probs[pb + j * nt + q${r}], ds[pb + q${r} * nt + j] + ds[pb + j * nt + q${r}], y, v);
//! end
    }
//! for r in 0..4
    if (live && first + ${r}u < nt) {
        store_dw((gid.z * nt + first + ${r}u) * p.d + (gid.y * dh4 + c4) * 4u, acc${r});
    }
//! end
}

// The scores kernel with do_i in registers, for the head sizes of the presets (dh 32 and 64;
// others run scores_grad_sg8 above).
//! expand common/mssa_scores_sg.wgsl DH4=8 G=1
//! expand common/mssa_scores_sg.wgsl DH4=16 G=2
