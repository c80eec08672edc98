//! Pieces shared by subcommands: loading weights with a readable error, reshaping a preset.

use std::path::Path;

use anyhow::Context;

use crate::model::io::{load_model_file, LoadedModel};
use crate::model::CrateConfig;

/// Reads and loads a weight file within the library's file-size and memory limits; every error
/// names the file.
pub fn load_weights(path: &Path, heads: Option<usize>) -> anyhow::Result<LoadedModel> {
    Ok(load_model_file(path, heads)?)
}

/// `--dim`, `--depth`, `--heads`: a preset reshaped for a fresh model (`init`, `train`).
#[derive(clap::Args, Debug, Default)]
pub struct ShapeArgs {
    /// Override the preset's width d (a multiple of the head count).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=4096))]
    pub dim: Option<u64>,
    /// Override the preset's depth (layers).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=256))]
    pub depth: Option<u64>,
    /// Override the preset's head count (d / heads is each head's subspace dimension).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=256))]
    pub heads: Option<u64>,
}

impl ShapeArgs {
    pub fn any(&self) -> bool {
        self.dim.is_some() || self.depth.is_some() || self.heads.is_some()
    }

    /// Preset `name` with the overrides applied, checked.
    pub fn preset(&self, name: &str) -> anyhow::Result<CrateConfig> {
        let mut cfg = CrateConfig::preset(name)?;
        cfg.dim = self.dim.map_or(cfg.dim, |v| v as usize);
        cfg.depth = self.depth.map_or(cfg.depth, |v| v as usize);
        cfg.heads = self.heads.map_or(cfg.heads, |v| v as usize);
        cfg.validate()
            .with_context(|| format!("--preset {name} with --dim/--depth/--heads"))?;
        Ok(cfg)
    }
}
