// `tn_reg` of matmul_backward_reg.wgsl for CPU-emulated adapters with subgroups of 8 (see
// common/tn_block_sg.wgsl), picked like matmul_sg.wgsl. The web build puts
// `enable subgroups;` in front (`backward::matmul::REG_SG_SOURCE`).

//! include common/matmul_backward_io.wgsl

//! expand common/tn_block_sg.wgsl SG=8
