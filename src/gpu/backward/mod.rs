//! The backward kernels, one Rust wrapper per WGSL file, beside the forward's (the burn
//! `custom-wgpu-kernel` layout): `shaders/<op>_backward.wgsl` ↔ `src/gpu/backward/<op>.rs`.
//! Each mirrors its CPU twin in [`crate::grad`], which is the oracle in `tests/suite/gpu_train.rs`.
//!
//! - [`matmul`]: `A^T·B` (weight gradients) and column sums (bias, gamma, CLS/position
//!   gradients); `dx = dy W` reuses the forward's tiled matmul.
//! - [`layernorm`]: `dx` (optionally plus a residual gradient) and `xhat` for the gamma gradient.
//! - [`mssa`]: the softmax/score backward and the three-path `dw` of q = k = v.
//! - [`ista`]: the ReLU mask and an add; D's two uses are matmuls.
//! - [`embed`], [`head`], [`loss`]: gathers/scatters of the CLS row and the label-smoothed
//!   cross-entropy.
//! - [`optim`]: global gradient norm, finite flag, clipping, AdamW and Lion.

pub mod embed;
pub mod head;
pub mod ista;
pub mod layernorm;
pub mod loss;
pub mod matmul;
pub mod mssa;
pub mod optim;
