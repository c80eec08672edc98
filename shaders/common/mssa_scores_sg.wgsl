// `scores_grad_sg8` (mssa_backward_sg.wgsl) for a head of DH4 vec4s (a multiple of 8) with
// the query row's do_i held in registers x<g>_<t> (vec4 8·g + t) across the key tokens: per
// key token, one load (this lane's share of w_j) and eight broadcasts instead of nine loads,
// for the same FMAs in the same order (the same bits).

@compute @workgroup_size(64, 1, 1)
fn scores_grad_sg8_h${DH4}(@builtin(global_invocation_id) gid: vec3<u32>,
                         @builtin(subgroup_invocation_id) sid: u32) {
    let live = gid.x < p.nt;
    let i = min(gid.x, p.nt - 1u);
    let nt = p.nt;
    let d4 = p.d / 4u;
    let q = query_row(i, gid.y, gid.z);
//! for g in 0..${G}
//! for t in 0..8
    let x${g}_${t} = dout4[q.oi + ${g}u * 8u + ${t}u];
//! end
//! end
    var dot = 0.0;
    for (var j = 0u; j < nt; j++) {
        let wj = q.base + j * d4;
        var acc = vec4<f32>(0.0);
//! for g in 0..${G}
        let mine${g} = w4[wj + ${g}u * 8u + sid];
//! for t in 0..8
        acc = fma(x${g}_${t}, subgroupBroadcast(mine${g}, ${t}u), acc);
//! end
//! end
        dot = keep_da(live, q.prow, j, acc, dot);
    }
    if (live) {
        rescale_ds_row(q.prow, dot);
    }
}
