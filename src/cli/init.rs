use std::path::PathBuf;

use anyhow::Context;

use crate::model::{config::PRESETS, init::init_params, Model};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Model shape: one of crate-t, crate-s, crate-b, crate-l, crate-b8-demo, crate-s8-21k,
    /// crate-fmnist (28×28 grayscale), crate-c32 (32×32 RGB).
    #[arg(long, value_parser = clap::builder::PossibleValuesParser::new(PRESETS))]
    pub preset: String,
    #[command(flatten)]
    pub shape: super::common::ShapeArgs,
    /// Number of output classes (default: the preset's; 1 to 1000000).
    #[arg(long, value_parser = super::validate::classes)]
    pub classes: Option<usize>,
    /// Seed of the initialisation (the same seed gives the same model everywhere).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Output file (.safetensors).
    #[arg(short, long)]
    pub output: PathBuf,
}

pub fn run(a: Args) -> anyhow::Result<()> {
    let mut cfg = a.shape.preset(&a.preset)?;
    if let Some(c) = a.classes {
        cfg.classes = c;
        if cfg.class_names.as_ref().is_some_and(|n| n.len() != c) {
            cfg.class_names = None;
        }
    }
    let params = init_params(&cfg, a.seed)?;
    let model = Model::new(cfg, params)?;
    let bytes = crate::model::io::model_to_safetensors(&model)?;
    std::fs::write(&a.output, bytes).with_context(|| format!("writing {}", a.output.display()))?;
    println!(
        "wrote {} ({}, {} parameters, seed {})",
        a.output.display(),
        a.preset,
        model.params.count(),
        a.seed
    );
    Ok(())
}
