// The start of `tn`'s 8×8 register block (matmul_backward_reg.wgsl's `tn_reg`, its subgroup
// form common/tn_block_sg.wgsl) for the block at (row, col): the rows of k this workgroup sums
// (common/split_k.wgsl), the vec4 offsets of A's two and B's two vectors in row 0 of k (the
// upper four clamped for the loads when out: m and n are multiples of 4, so they are all in or
// all out), and the zeroed accumulators l0..l7 and h0..h7.
//! expand common/split_k.wgsl
let lda4 = p.lda / 4u;
let ldb4 = p.ldb / 4u;
let al = (p.a_off + min(row, p.m - 4u)) / 4u;
let ah = (p.a_off + min(row + 4u, p.m - 4u)) / 4u;
let bl = (p.b_off + min(col, p.n - 4u)) / 4u;
let bh = (p.b_off + min(col + 4u, p.n - 4u)) / 4u;
//! for i in 0..8
var l${i} = vec4<f32>(0.0);
var h${i} = vec4<f32>(0.0);
//! end
