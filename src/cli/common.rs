//! Pieces shared by subcommands: loading weights with a readable error.

use std::path::Path;

use crate::model::io::{load_model_file, LoadedModel};

/// Reads and loads a weight file within the library's file-size and memory limits; every error
/// names the file.
pub fn load_weights(path: &Path, heads: Option<usize>) -> anyhow::Result<LoadedModel> {
    Ok(load_model_file(path, heads)?)
}
