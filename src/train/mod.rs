//! Training, on the CPU reference backward or on the GPU (`crate::gpu::train`), through one loop:
//! - [`optim`]: AdamW and Lion, the no-decay set, global-norm clipping;
//! - [`schedule`]: linear warm-up + cosine decay to a floor;
//! - [`trainer`]: the loop (NaN/inf steps skipped, evaluation, per-layer R^c and sparsity,
//!   metrics as JSON values); engine-agnostic hooks, no I/O, compiles for wasm32; the steps run
//!   on a [`StepEngine`] ([`CpuSteps`] here, `gpu::train::GpuSteps` on the GPU);
//! - [`selection`]: which epoch is kept as `best` (accuracy, or segmentation above an
//!   accuracy floor);
//! - [`checkpoint`]: save and exact resume (files natively, bytes everywhere);
//! - [`session`]: a run as the page's worker drives it (data choice, steps, probes, history);
//! - [`shard`]: data-parallel steps (a batch's halves computed apart, then one update).

pub mod checkpoint;
pub mod optim;
pub mod schedule;
pub mod selection;
pub mod session;
pub mod shard;
pub mod trainer;

pub use optim::{clip_grad_norm, decays, OptimConfig, Optimizer, OptimizerKind};
pub use schedule::Schedule;
pub use selection::Selection;
pub use trainer::{
    CpuSteps, Evaluation, Held, Hooks, Running, StepEngine, StepReport, TrainConfig, TrainState,
    Trainer,
};
