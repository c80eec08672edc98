// One step along k of one row of a register block, scalar (the k % 4 tail; and every k when B
// is not transposed but k is not a multiple of 4): the row's value X (a vec4 of one value)
// times B's eight values yl (columns 0..3) and yh (4..7), added to L and H
// (common/matmul_block.wgsl, common/matmul_block_sg.wgsl: the same order, the same bits).
${L} = fma(${X}, yl, ${L});
${H} = fma(${X}, yh, ${H});
