// Four steps along k of one row of a register block when B is not transposed
// (common/matmul_block.wgsl, common/matmul_block_sg.wgsl): the row's values X.x..X.w times the
// four rows of B's eight columns in yl0..yl3 (columns 0..3) and yh0..yh3 (4..7), added to L and
// H. Written once for both forms (the same order, the same bits).
${L} = fma(vec4<f32>(${X}.x), yl0, fma(vec4<f32>(${X}.y), yl1, fma(vec4<f32>(${X}.z), yl2, fma(vec4<f32>(${X}.w), yl3, ${L}))));
${H} = fma(vec4<f32>(${X}.x), yh0, fma(vec4<f32>(${X}.y), yh1, fma(vec4<f32>(${X}.z), yh2, fma(vec4<f32>(${X}.w), yh3, ${H}))));
