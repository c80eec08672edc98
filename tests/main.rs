//! The integration tests, built as one binary: `suite/` holds one module per area (the former
//! `tests/*.rs` files), `common/` the helpers they share. A new test file goes in `suite/` with
//! a `mod` line in `suite/mod.rs`; a file left directly in `tests/` still runs, as its own binary.

mod common;
mod suite;
