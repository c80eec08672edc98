use std::path::PathBuf;

use anyhow::Context;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Input: an official PyTorch checkpoint (.pth / .pth.tar, bare or nested state dict,
    /// `module.` prefixes allowed) or a safetensors file.
    pub checkpoint: PathBuf,
    /// Output safetensors file; its metadata records the config.
    #[arg(short, long)]
    pub output: PathBuf,
    /// Number of heads (the checkpoint's shapes cannot tell; default: the preset for its width).
    #[arg(long, value_parser = super::validate::heads)]
    pub heads: Option<usize>,
}

pub fn run(a: Args) -> anyhow::Result<()> {
    let loaded = super::common::load_weights(&a.checkpoint, a.heads)?;
    let bytes = crate::model::io::model_to_safetensors(&loaded.model)?;
    std::fs::write(&a.output, bytes).with_context(|| format!("writing {}", a.output.display()))?;
    for n in &loaded.notes {
        eprintln!("note: {n}");
    }
    println!(
        "wrote {} ({} parameters, {} layers, {} heads)",
        a.output.display(),
        loaded.model.params.count(),
        loaded.model.config.depth,
        loaded.model.config.heads
    );
    Ok(())
}
