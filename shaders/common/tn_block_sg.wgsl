// The subgroup form of matmul_backward_reg.wgsl's `tn_reg` for subgroups of SG consecutive
// invocations (lavapipe's 8; see common/matmul_block_sg.wgsl). The invocations of a subgroup
// own the same eight rows of C, so the same two A vectors per row of k: walking k SG rows at a
// time, each loads A's vectors for one of those rows (its lane's) and takes the others from
// its neighbours by subgroupBroadcast. Per row of k: two B loads and 2/SG A loads instead of
// two of each, for the same sixteen FMAs in the same order (so the same bits as `tn_reg`). The
// k rows left over (fewer than SG) run as in `tn_reg`. No invocation returns early (a
// broadcast from a lane that has left is undefined): blocks past m or n are clamped for the
// loads and never stored. One dimension of 64 invocations, laid out as tn_reg's 8×8.

@compute @workgroup_size(64, 1, 1)
fn tn_sg${SG}(@builtin(workgroup_id) wid: vec3<u32>,
              @builtin(local_invocation_index) li: u32,
              @builtin(subgroup_invocation_id) sid: u32) {
    let lid = vec2<u32>(li % 8u, li / 8u);
    let row = (wid.y * 8u + lid.y) * 8u;
    let col = (wid.x * 8u + lid.x) * 8u;
//! expand common/tn_start.wgsl
    let kfull = kb + (ke - kb) / ${SG}u * ${SG}u;
    for (var k = kb; k < kfull; k += ${SG}u) {
        let sl = a4[al + (k + sid) * lda4];
        let sh = a4[ah + (k + sid) * lda4];
//! for t in 0..${SG}
        {
            let xl = subgroupBroadcast(sl, ${t}u);
            let xh = subgroupBroadcast(sh, ${t}u);
            let yl = b4[bl + (k + ${t}u) * ldb4];
            let yh = b4[bh + (k + ${t}u) * ldb4];
//! expand common/tn_outer.wgsl
        }
//! end
    }
    for (var k = kfull; k < ke; k++) {
//! expand common/tn_step.wgsl
    }
//! expand common/tn_store.wgsl
}
