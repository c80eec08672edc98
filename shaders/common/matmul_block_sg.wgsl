// The subgroup form of common/matmul_block.wgsl, for CPU-emulated adapters whose subgroups are
// SG consecutive invocations of a workgroup row (lavapipe's 8; the host checks the adapter's
// subgroup size). The invocations of a subgroup own the same ROWS rows (ROWS = MS·SG) and
// different columns, so each loads only MS of the ROWS A vectors (rows row + m·SG + its lane)
// and gets the others from its neighbours with subgroupBroadcast: these adapters gather every
// storage load lane by lane, and a broadcast is one register shuffle. Per k-step, with
// ROWS = 16 and SG = 8: 10 loads instead of 24 for the same 512 FMAs. Everything else (layout,
// clamping, accumulation order, so the results bit for bit) is matmul_block.wgsl's; no
// invocation returns early, since a broadcast from a lane that has left is undefined
// (out-of-range rows and columns are clamped for the loads and dropped by the epilogue).
// The workgroup is one-dimensional (WG_N = 8·WG_Y invocations), since naga defines subgroup
// builtins only there.

@compute @workgroup_size(${WG_N}, 1, 1)
fn ${NAME}(@builtin(workgroup_id) wid: vec3<u32>,
           @builtin(local_invocation_index) li: u32,
           @builtin(subgroup_invocation_id) sid: u32) {
    // The workgroup is one-dimensional (where subgroups are defined), 8 × WG_Y laid out row
    // by row as matmul_block.wgsl's 8×WG_Y one.
    let lid = vec2<u32>(li % 8u, li / 8u);
    let at = bases(wid.z);
    let a0 = at.a;
    let b0 = at.b;
    let c0 = at.c;
    let e0 = at.e;
    let row = wid.y * 32u + ${ROWS}u * lid.y;
    let col = wid.x * 64u + 8u * lid.x;
    let rl = p.m - 1u;
    let cl = p.n - 1u;
    // The rows this invocation loads for its subgroup.
//! for m in 0..${MS}
    let fs${m} = a0 + min(row + ${m}u * ${SG}u + sid, rl) * p.lda;
//! end
//! for m in 0..${MS}
//! for t in 0..${SG}
    var l${m}_${t} = vec4<f32>(0.0);
    var h${m}_${t} = vec4<f32>(0.0);
//! end
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
//! for m in 0..${MS}
            let xs${m} = load_a4(fs${m} + k * 4u);
//! for t in 0..${SG}
            let x${m}_${t} = subgroupBroadcast(xs${m}, ${t}u);
//! expand common/matmul_acc_t.wgsl X=x${m}_${t} L=l${m}_${t} H=h${m}_${t}
//! end
//! end
        }
        // The k % 4 tail, scalar (rows are vec4-aligned, the extent need not be).
        for (var k = k4n * 4u; k < p.k; k++) {
            let yl = vec4<f32>(b[rb0 * 4u + k], b[rb1 * 4u + k], b[rb2 * 4u + k], b[rb3 * 4u + k]);
            let yh = vec4<f32>(b[rb4 * 4u + k], b[rb5 * 4u + k], b[rb6 * 4u + k], b[rb7 * 4u + k]);
//! for m in 0..${MS}
            let xs${m} = a[fs${m} + k];
//! for t in 0..${SG}
            let x${m}_${t} = vec4<f32>(subgroupBroadcast(xs${m}, ${t}u));
//! expand common/matmul_acc_1.wgsl X=x${m}_${t} L=l${m}_${t} H=h${m}_${t}
//! end
//! end
        }
    } else {
        // n is a multiple of 4: the high four columns are all in or all out (clamped for the
        // loads when out). Columns past n are clamped too (the block may start past n here,
        // since no invocation returns early).
        let cbl = (b0 + min(col, p.n - 4u)) / 4u;
        let cbh = (b0 + min(col + 4u, p.n - 4u)) / 4u;
        let ld4 = p.ldb / 4u;
        let kv = p.k / 4u * 4u;
        for (var k = 0u; k < kv; k += 4u) {
//! for j in 0..4
            let yl${j} = b4[cbl + (k + ${j}u) * ld4];
            let yh${j} = b4[cbh + (k + ${j}u) * ld4];
//! end
//! for m in 0..${MS}
            let xs${m} = load_a4(fs${m} + k);
//! for t in 0..${SG}
            let x${m}_${t} = subgroupBroadcast(xs${m}, ${t}u);
//! expand common/matmul_acc_n.wgsl X=x${m}_${t} L=l${m}_${t} H=h${m}_${t}
//! end
//! end
        }
        for (var k = kv; k < p.k; k++) {
            let yl = b4[cbl + k * ld4];
            let yh = b4[cbh + k * ld4];
//! for m in 0..${MS}
            let xs${m} = a[fs${m} + k];
//! for t in 0..${SG}
            let x${m}_${t} = vec4<f32>(subgroupBroadcast(xs${m}, ${t}u));
//! expand common/matmul_acc_1.wgsl X=x${m}_${t} L=l${m}_${t} H=h${m}_${t}
//! end
//! end
        }
    }
//! for m in 0..${MS}
//! for t in 0..${SG}
    store4(c0, e0, row + ${m}u * ${SG}u + ${t}u, col, l${m}_${t});
    store4(c0, e0, row + ${m}u * ${SG}u + ${t}u, col + 4u, h${m}_${t});
//! end
//! end
}
