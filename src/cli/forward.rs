use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::Context;
use serde_json::json;

use super::EngineKind;
use crate::analysis::{self, layers_json, predictions, LayerStats};
use crate::data::image::{decode_image, preprocess, DecodeLimits, Resize};
use crate::{CrateConfig, ForwardOptions, Tensor};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Weight file: safetensors or an official PyTorch checkpoint.
    #[arg(long)]
    pub weights: PathBuf,
    /// Number of heads, for checkpoints that do not record it.
    #[arg(long)]
    pub heads: Option<usize>,
    /// Images to run (PNG, JPEG, WebP, GIF, BMP).
    #[arg(long, num_args = 1.., required = true)]
    pub image: Vec<PathBuf>,
    /// How images are fitted to the model: `imagenet` (shorter side to 256/224 of the size, centre
    /// crop), `stretch` (resize to the size), `none` (used as is; sides must be multiples of the patch).
    #[arg(long, default_value = "imagenet")]
    pub resize: Resize,
    /// Input size HxW for `imagenet`/`stretch` (default: the model's training size); any multiple
    /// of the patch works (position embeddings are interpolated).
    #[arg(long, value_parser = parse_size)]
    pub size: Option<[usize; 2]>,
    #[arg(long, value_enum, default_value_t = EngineKind::Cpu)]
    pub engine: EngineKind,
    /// One JSON object per image per line: logits, top5, per-layer rc_in/rc_out/sparsity, and the
    /// last layer's mean CLS attention map on the patch grid.
    #[arg(long)]
    pub json: bool,
    /// Also write the trace tensors (z.{l}, zhalf.{l}, zout.{l}, attn.{l}, logits) as safetensors.
    /// All images must then share one input size.
    #[arg(long)]
    pub dump: Option<PathBuf>,
}

fn parse_size(s: &str) -> Result<[usize; 2], String> {
    let (h, w) = s
        .split_once(['x', 'X'])
        .ok_or_else(|| format!("expected HxW, got `{s}`"))?;
    let p = |v: &str| {
        v.trim()
            .parse::<usize>()
            .map_err(|_| format!("expected HxW, got `{s}`"))
    };
    Ok([p(h)?, p(w)?])
}

pub fn run(a: Args) -> anyhow::Result<()> {
    let loaded = super::common::load_weights(&a.weights, a.heads)?;
    if !a.json {
        for n in &loaded.notes {
            eprintln!("note: {n}");
        }
    }
    let cfg = loaded.model.config.clone();
    let size = a.size.unwrap_or(cfg.image);
    let limits = DecodeLimits::default();
    let mut inputs = Vec::with_capacity(a.image.len());
    for path in &a.image {
        let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        let img = decode_image(&bytes, &path.display().to_string(), &limits)?;
        inputs.push(preprocess(&img, &cfg, size, a.resize)?);
    }
    // Consecutive images of one size run as one batch.
    let mut groups: Vec<(usize, usize)> = Vec::new();
    for (i, t) in inputs.iter().enumerate() {
        match groups.last_mut() {
            Some((start, len)) if inputs[*start].shape == t.shape => *len += 1,
            _ => groups.push((i, 1)),
        }
    }
    if a.dump.is_some() && groups.len() > 1 {
        anyhow::bail!(
            "--dump needs all images at one input size; use --resize imagenet or stretch"
        );
    }
    let mut engine = super::make_engine(a.engine, loaded.model)?;
    // Without --dump nothing needs the trace tensors: the engine computes the measures itself
    // (on the GPU engine, small Gram and count read-backs) and returns only the CLS rows of the
    // attention for the map.
    let opts = if a.dump.is_some() {
        ForwardOptions {
            trace: true,
            attention: true,
            ..Default::default()
        }
    } else {
        ForwardOptions {
            stats: true,
            cls: true,
            ..Default::default()
        }
    };
    for (start, len) in groups {
        let batch = Tensor::stack(&inputs[start..start + len]);
        let (h, w) = (batch.shape[2], batch.shape[3]);
        let out = engine.forward(&batch, opts)?;
        let nt = (h / cfg.patch) * (w / cfg.patch) + 1;
        let (stats, last_cls) = match &out.trace {
            Some(trace) => {
                let last = trace
                    .layers
                    .last()
                    .and_then(|l| l.attn.as_ref())
                    .context("no attention")?;
                let per = last.numel() / last.shape[0];
                let rows: Vec<Vec<Vec<f32>>> = (0..last.shape[0])
                    .map(|i| analysis::cls_rows(&last.data[i * per..(i + 1) * per], cfg.heads, nt))
                    .collect();
                (analysis::layer_stats(trace, cfg.heads), rows)
            }
            None => {
                let stats = out.stats.clone().context("engine returned no measures")?;
                let last = out
                    .cls
                    .as_ref()
                    .and_then(|c| c.last())
                    .context("engine returned no attention rows")?;
                let per = cfg.heads * nt;
                let rows = (0..last.shape[0])
                    .map(|i| {
                        analysis::maps::cls_rows_of(
                            &last.data[i * per..(i + 1) * per],
                            cfg.heads,
                            nt,
                        )
                    })
                    .collect();
                (stats, rows)
            }
        };
        for (i, layer_stats) in stats.iter().enumerate() {
            let path = &a.image[start + i];
            let logits = &out.logits.data[i * cfg.classes..(i + 1) * cfg.classes];
            let mean = analysis::mean_map(&last_cls[i]);
            let report = Report {
                path,
                cfg: &cfg,
                size: [h, w],
                logits,
                layers: layer_stats,
                attention_mean: &mean,
                engine: engine.name(),
            };
            if a.json {
                println!("{}", report.json());
            } else {
                report.print();
            }
        }
        if let (Some(dump), Some(trace)) = (&a.dump, &out.trace) {
            let mut tensors = BTreeMap::new();
            for (l, lt) in trace.layers.iter().enumerate() {
                tensors.insert(format!("z.{l}"), lt.z.clone());
                tensors.insert(format!("zhalf.{l}"), lt.zhalf.clone());
                tensors.insert(format!("zout.{l}"), lt.zout.clone());
                if let Some(attn) = &lt.attn {
                    tensors.insert(format!("attn.{l}"), attn.clone());
                }
            }
            tensors.insert("logits".to_string(), out.logits.clone());
            let meta = BTreeMap::from([("config".to_string(), serde_json::to_string(&cfg)?)]);
            let bytes = crate::model::io::write_tensors(&tensors, &meta)?;
            std::fs::write(dump, bytes).with_context(|| format!("writing {}", dump.display()))?;
            if !a.json {
                println!("trace written to {}", dump.display());
            }
        }
    }
    Ok(())
}

struct Report<'a> {
    path: &'a std::path::Path,
    cfg: &'a CrateConfig,
    size: [usize; 2],
    logits: &'a [f32],
    layers: &'a [LayerStats],
    attention_mean: &'a [f32],
    engine: &'a str,
}

impl Report<'_> {
    fn json(&self) -> serde_json::Value {
        let p = self.cfg.patch;
        json!({
            "image": self.path.display().to_string(),
            "engine": self.engine,
            "input_size": self.size,
            "grid": [self.size[0] / p, self.size[1] / p],
            "logits": self.logits,
            "top5": predictions(self.cfg, self.logits, 5),
            "layers": layers_json(self.layers),
            "attention_mean": self.attention_mean,
        })
    }

    fn print(&self) {
        println!(
            "{}  ({}x{}, {} engine)",
            self.path.display(),
            self.size[0],
            self.size[1],
            self.engine
        );
        println!("  top-5:");
        for p in predictions(self.cfg, self.logits, 5) {
            println!("    {:>6.2}%  {} ({})", p.prob * 100.0, p.name, p.class);
        }
        println!("  layer   R^c in   R^c after MSSA   non-zero fraction");
        for (l, s) in self.layers.iter().enumerate() {
            println!(
                "  {l:>5} {:>8.2} {:>16.2} {:>19.4}",
                s.rc_in, s.rc_out, s.sparsity
            );
        }
        println!();
    }
}
