//! Pieces shared by subcommands: loading weights with a readable error.

use std::path::Path;

use anyhow::Context;

use crate::model::io::{load_model, LoadedModel};

pub fn load_weights(path: &Path, heads: Option<usize>) -> anyhow::Result<LoadedModel> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let name = path.display().to_string();
    Ok(load_model(&bytes, &name, heads)?)
}
