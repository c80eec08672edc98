//! The page's logic that is neither DOM nor async glue, so that it compiles on every target and
//! is unit-tested natively: the URL state ([`url`]), the `?bench=` / `?selftest` routes
//! ([`route`]), which engine runs and how calibration chooses ([`engine_choice`]), how many
//! workers the gallery batch uses ([`batch_workers`]), the engine comparison's numbers
//! ([`compare`]), and the choices made when a model or an image arrives ([`model_choice`]).
//! `src/ui/` (wasm only) keeps the Leptos components and wires these to signals, fetches and
//! the browser's clock; it decides nothing these modules can decide.

pub mod batch_workers;
pub mod compare;
pub mod draw_schedule;
pub mod engine_choice;
pub mod infer_protocol;
pub mod model_choice;
pub mod prepared;
pub mod route;
pub mod train_protocol;
pub mod url;

pub use compare::{comparison_text, differences, Differences};
pub use engine_choice::{EngineInfo, EnginePref, GpuState, Which};
pub use model_choice::{Bundled, ModelInfo, Sample};
pub use route::{BenchRequest, Route};
pub use url::{MapKind, UrlState, View};
