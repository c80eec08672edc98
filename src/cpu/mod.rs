//! The CPU reference engine.
