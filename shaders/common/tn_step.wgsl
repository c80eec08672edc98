// One row k of `tn`'s 8×8 register block, every vector loaded by this invocation (`tn_reg`'s
// loop, and the rows past the last whole subgroup step in `tn_sg*`).
let xl = a4[al + k * lda4];
let xh = a4[ah + k * lda4];
let yl = b4[bl + k * ldb4];
let yh = b4[bh + k * ldb4];
//! expand common/tn_outer.wgsl
