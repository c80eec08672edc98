// The end of `tn`'s 8×8 register block (`tn_reg`, `tn_sg*`): the accumulators through the
// epilogue (rows and columns past m and n are dropped there).
//! for i in 0..8
store4(c0, row + ${i}u, col, l${i});
store4(c0, row + ${i}u, col + 4u, h${i});
//! end
