// One vec4 step along k of one row of a register block when B is transposed
// (common/matmul_block.wgsl and its subgroup form common/matmul_block_sg.wgsl): the row's four
// values X against the eight rows of B in y0..y7, added to L (columns 0..3) and H (4..7).
// Written once, so that both forms add in the same order and give the same bits.
${L} += vec4<f32>(dot(${X}, y0), dot(${X}, y1), dot(${X}, y2), dot(${X}, y3));
${H} += vec4<f32>(dot(${X}, y4), dot(${X}, y5), dot(${X}, y6), dot(${X}, y7));
