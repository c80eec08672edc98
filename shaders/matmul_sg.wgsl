// The register-blocked matmul of matmul.wgsl for CPU-emulated adapters with subgroups of 8
// (lavapipe on 256-bit vectors): the same 16×8 and 32×8 blocks, with A's rows shared across
// each subgroup by broadcasts instead of loaded by every invocation (see
// common/matmul_block_sg.wgsl). The host uses them where the adapter's subgroups are exactly 8
// (`Gpu::subgroup_kernels`), matmul.wgsl's main_reg16 and main_reg32 elsewhere. Browsers would want
// `enable subgroups;` first, which naga (natively) does not accept yet: the web build's
// `matmul::SOURCE_SG` puts it in front.

//! include common/matmul_io.wgsl

// Each lane loads 2 of the 16 A rows...
//! expand common/matmul_block_sg.wgsl NAME=main_sg8 SG=8 MS=2 ROWS=16 WG_Y=2 WG_N=16

// ... or 4 of 32 (one subgroup per workgroup).
//! expand common/matmul_block_sg.wgsl NAME=main_sg8_32 SG=8 MS=4 ROWS=32 WG_Y=1 WG_N=8
