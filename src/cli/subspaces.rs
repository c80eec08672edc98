//! `whitebox subspaces`: the Subspaces view's report for one image, layer and head, as JSON: the
//! numbers the page plots (and keeps in `#wb-subspace-report`), computed natively from the same
//! image and model. Defined in `analysis::subspaces`.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;

use super::EngineKind;
use crate::analysis::subspaces::{SubspaceCache, SubspaceOptions};
use crate::data::image::{decode_image, preprocess, read_image_file, DecodeLimits, Resize};
use crate::finite::ensure_finite;
use crate::ForwardOptions;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Weight file: safetensors or an official PyTorch checkpoint.
    #[arg(long)]
    pub weights: PathBuf,
    /// Number of heads, for checkpoints that do not record it.
    #[arg(long, value_parser = super::validate::heads)]
    pub heads: Option<usize>,
    /// The image (PNG, JPEG, WebP, GIF, BMP).
    #[arg(long)]
    pub image: PathBuf,
    /// How the image is fitted to the model (as `forward`; the page uses `stretch` for inputs
    /// under 64 pixels, `imagenet` otherwise).
    #[arg(long, default_value = "imagenet")]
    pub resize: Resize,
    /// Layers to report, comma-separated (default: the last).
    #[arg(long, value_delimiter = ',')]
    pub layer: Vec<usize>,
    /// Heads to report, comma-separated (default: 0).
    #[arg(long, value_delimiter = ',')]
    pub head: Vec<usize>,
    /// The atom whose activation map is reported (default: the most used at that layer).
    #[arg(long)]
    pub atom: Option<usize>,
    /// Principal axes of the scatter (2 or 3).
    #[arg(long, default_value_t = 3)]
    pub axes: usize,
    #[arg(long, value_enum, default_value_t = EngineKind::Cpu)]
    pub engine: EngineKind,
}

/// Prints one JSON report per line, for every requested layer and head (layer-major).
pub fn run(a: Args) -> anyhow::Result<()> {
    let loaded = super::common::load_weights(&a.weights, a.heads)?;
    let cfg = loaded.model.config.clone();
    let limits = DecodeLimits::default();
    let name = a.image.display().to_string();
    let bytes = read_image_file(&a.image, &limits)?;
    let img = decode_image(&bytes, &name, &limits)?;
    let input = preprocess(&img, &cfg, cfg.image, a.resize)?;
    let params = loaded.model.params.clone();
    let mut engine = super::make_engine(a.engine, loaded.model)?;
    let opts = ForwardOptions {
        trace: true,
        ..Default::default()
    };
    let out = engine.forward(&crate::Tensor::stack(&[input]), opts)?;
    ensure_finite(&out.logits.data, &format!("{name}: the logits"))?;
    let trace = Arc::new(out.trace.context("the engine returned no trace")?);
    let sub = SubspaceOptions {
        axes: a.axes,
        atom: a.atom,
        ..Default::default()
    };
    let cache = SubspaceCache::new(&params, &cfg, trace, sub)?;
    let layers = if a.layer.is_empty() {
        vec![cfg.depth.saturating_sub(1)]
    } else {
        a.layer
    };
    let heads = if a.head.is_empty() { vec![0] } else { a.head };
    for &l in &layers {
        for &k in &heads {
            let mut v = serde_json::to_value(cache.report(l, k, None)?)?;
            v["image_name"] = name.clone().into();
            v["engine"] = engine.name().into();
            println!("{v}");
        }
    }
    Ok(())
}
