//! The Subspace lab (issue 12): CRATE's theory on synthetic tokens with known ground truth.
//!
//! Tokens from a mixture of K subspaces with the bases kept ([`inputs`]); the idealised MSSA step
//! with those bases unrolled over layers ([`mssa`]), optionally followed by an ISTA step with a
//! chosen dictionary ([`ista`]); per-layer SNR, the theory's geometric line, R^c and sparsity
//! ([`measures`]); principal angles and optimal matching of subspaces ([`angles`]); clustering by
//! coding length ([`coding_length`]); the learned-CRATE recovery measure and its training run
//! ([`recover`]), with its supervised compression term ([`rate_objective`]) and lifted tokens
//! ([`lifted`]). [`report::run`] gives everything the page plots. `tools/lab_ref.py` is the
//! independent NumPy/SciPy reference.

pub mod angles;
pub mod coding_length;
pub mod config;
pub mod inputs;
pub mod ista;
pub mod lifted;
pub mod measures;
pub mod mssa;
pub mod rate_objective;
pub mod recover;
pub mod report;

pub use config::{preset, presets, Dictionary, LabConfig, Phi, Preset};
pub use inputs::LabInputs;
pub use report::{run, run_on, LabReport, LabRun};
