//! Whitebox: see inside CRATE, the white-box transformer.
//!
//! Data flows one way: bytes → [`data`] → [`tensor::Tensor`]s → an [`engine::Engine`] →
//! [`engine::Trace`] → [`analysis`] → the page or the CLI. What the page decides (URL state,
//! engine choice, comparisons) is in [`page`], native and unit-tested; `ui` (wasm only) wires it
//! to the browser. `CRATE-SPEC.md` (in the project's shared notes) is the numerical contract
//! every engine meets.

pub mod analysis;
pub mod bench;
pub mod budget;
#[cfg(not(target_arch = "wasm32"))]
pub mod cli;
pub mod cpu;
pub mod data;
pub mod engine;
pub mod error;
pub mod finite;
#[cfg(not(target_arch = "wasm32"))]
pub mod fuzzing;
pub mod gpu;
pub mod grad;
pub mod model;
pub mod page;
pub mod rng;
pub mod selftest;
pub mod sha256;
pub mod tensor;
pub mod train;
#[cfg(target_arch = "wasm32")]
pub mod ui;
pub mod viz;

pub use engine::{Engine, ForwardOptions, ForwardOutput, LayerTrace, Trace};
pub use error::{Error, Result};
pub use model::{CrateConfig, Model, Params};
pub use tensor::Tensor;
