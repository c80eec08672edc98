// One row of k of `tn`'s 8×8 block (matmul_backward_reg.wgsl, common/tn_block_sg.wgsl): the
// outer product of A's eight values (xl, xh) and B's (yl, yh), added to the accumulators l0..l7
// and h0..h7. Expanded in place.
//! for i in 0..4
l${i} = fma(vec4<f32>(xl[${i}]), yl, l${i});
h${i} = fma(vec4<f32>(xl[${i}]), yh, h${i});
//! end
//! for i in 4..8
l${i} = fma(vec4<f32>(xh[${i} - 4]), yl, l${i});
h${i} = fma(vec4<f32>(xh[${i} - 4]), yh, h${i});
//! end
