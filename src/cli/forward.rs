use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::{anyhow, Context};
use serde_json::json;

use super::EngineKind;
use crate::analysis::{self, layers_json, predictions, LayerStats};
use crate::budget::{fmt_bytes, limits, Budget};
use crate::data::image::{decode_image, preprocess, read_image_file, DecodeLimits, Resize};
use crate::finite::{ensure_finite, ensure_finite_stats};
use crate::{CrateConfig, ForwardOptions, Tensor};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Weight file: safetensors or an official PyTorch checkpoint.
    #[arg(long)]
    pub weights: PathBuf,
    /// Number of heads, for checkpoints that do not record it.
    #[arg(long, value_parser = super::validate::heads)]
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
    /// Also compute the attention rollout (the CLS row of ½(mean-head A + I) multiplied down
    /// through every layer, over the patches) and print it (`rollout` in --json). It needs every
    /// layer's full attention, so it is charged like --dump's trace.
    #[arg(long)]
    pub rollout: bool,
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
    let [h, w] = [p(h)?, p(w)?];
    let max = crate::data::image::MAX_INPUT_SIDE;
    if h == 0 || w == 0 || h > max || w > max {
        return Err(format!(
            "each side must be between 1 and {max} pixels (the size limit), got `{s}`"
        ));
    }
    Ok([h, w])
}

/// Bytes of the attention maps of `b` images of `h`×`w` (one layer), computed without overflow.
fn attention_bytes(cfg: &CrateConfig, b: usize, h: usize, w: usize) -> u128 {
    let nt = (h / cfg.patch) as u128 * (w / cfg.patch) as u128 + 1;
    b as u128 * cfg.heads as u128 * nt * nt * 4
}

/// Refuses a batch whose attention maps the engines would refuse, before its inputs are made.
fn check_attention(cfg: &CrateConfig, b: usize, h: usize, w: usize) -> anyhow::Result<()> {
    let need = attention_bytes(cfg, b, h, w);
    if need > crate::cpu::MAX_ATTENTION_BYTES {
        anyhow::bail!(
            "an input of {w}x{h} (width x height) in a batch of {b} needs {} of attention maps \
             per layer, more than the {} limit: use a smaller size (--resize imagenet or stretch) \
             or fewer images",
            fmt_bytes(u64::try_from(need).unwrap_or(u64::MAX)),
            fmt_bytes(crate::cpu::MAX_ATTENTION_BYTES as u64)
        );
    }
    Ok(())
}

/// Bytes of the trace `--dump` keeps for `b` images of `h`×`w`: per layer z, zhalf, zout and
/// the attention maps.
fn trace_bytes(cfg: &CrateConfig, b: usize, h: usize, w: usize) -> u64 {
    let nt = (h / cfg.patch) as u128 * (w / cfg.patch) as u128 + 1;
    let per_layer = 3 * b as u128 * nt * cfg.dim as u128 * 4 + attention_bytes(cfg, b, h, w);
    u64::try_from(per_layer * cfg.depth as u128).unwrap_or(u64::MAX)
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
    let weights = a.weights.display().to_string();
    let limits = DecodeLimits::default();
    // All inputs are held until their batch runs: they share one budget.
    let mut held = Budget::new("the images", "the inputs of one run", limits::ANALYSIS);
    let mut inputs = Vec::with_capacity(a.image.len());
    for path in &a.image {
        let name = path.display().to_string();
        let bytes = read_image_file(path, &limits)?;
        let img = decode_image(&bytes, &name, &limits)?;
        drop(bytes);
        // With --resize none the image's own size is the input: refuse one whose attention maps
        // cannot fit before making its float copy.
        let (h, w) = match a.resize {
            Resize::None => (img.height as usize, img.width as usize),
            _ => (size[0], size[1]),
        };
        check_attention(&cfg, 1, h, w).map_err(|e| anyhow!("{name}: {e}"))?;
        let t = preprocess(&img, &cfg, size, a.resize)?;
        held.charge_items(format!("`{name}` as a float input"), t.numel() as u64, 4)
            .map_err(|e| anyhow!("{e}; pass fewer images per run"))?;
        inputs.push(t);
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
    let full = a.dump.is_some() || a.rollout;
    let opts = if full {
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
        let (h, w) = (inputs[start].shape[1], inputs[start].shape[2]);
        check_attention(&cfg, len, h, w)?;
        let stacked = inputs[start].numel() as u64 * len as u64 * 4;
        let mut run = Budget::new(&weights, "one forward pass", limits::ANALYSIS);
        run.charge(format!("a batch of {len} inputs of {w}x{h}"), stacked)?;
        if full {
            // The trace, and (with --dump) its safetensors bytes.
            let (what, copies) = match a.dump {
                Some(_) => ("--dump", 2),
                None => ("--rollout", 1),
            };
            run.charge_items(
                format!("the {what} trace of {len} image(s) at {w}x{h}"),
                trace_bytes(&cfg, len, h, w),
                copies,
            )
            .map_err(|e| anyhow!("{e}; use fewer images or a smaller --size with {what}"))?;
        }
        let batch = Tensor::stack(&inputs[start..start + len]);
        let mut out = engine.forward(&batch, opts)?;
        drop(batch);
        let images = a.image[start..start + len]
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(", ");
        ensure_finite(
            &out.logits.data,
            &format!("{weights}: the logits of {images}"),
        )?;
        let nt = cfg.tokens_at([h, w]);
        let rollouts: Vec<Option<Vec<f32>>> = match (&out.trace, a.rollout) {
            (Some(trace), true) => (0..len)
                .map(|i| {
                    let layers: Vec<&[f32]> = trace
                        .layers
                        .iter()
                        .filter_map(|l| l.attn.as_ref())
                        .map(|t| {
                            let per = t.numel() / len;
                            &t.data[i * per..(i + 1) * per]
                        })
                        .collect();
                    analysis::cls_rollout(&layers, cfg.heads, nt).pop()
                })
                .collect(),
            _ => vec![None; len],
        };
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
            ensure_finite_stats(
                layer_stats,
                &format!("{weights}: the measures of {}", path.display()),
            )?;
            let logits = &out.logits.data[i * cfg.classes..(i + 1) * cfg.classes];
            let mean = analysis::mean_map(&last_cls[i]);
            let report = Report {
                path,
                cfg: &cfg,
                size: [h, w],
                logits,
                layers: layer_stats,
                attention_mean: &mean,
                rollout: rollouts[i].as_deref(),
                engine: engine.name(),
            };
            if a.json {
                println!("{}", report.json());
            } else {
                report.print();
            }
        }
        if let (Some(dump), Some(trace)) = (&a.dump, out.trace.take()) {
            // Moved, not copied: the trace is the largest thing here.
            let mut tensors = BTreeMap::new();
            for (l, lt) in trace.layers.into_iter().enumerate() {
                tensors.insert(format!("z.{l}"), lt.z);
                tensors.insert(format!("zhalf.{l}"), lt.zhalf);
                tensors.insert(format!("zout.{l}"), lt.zout);
                if let Some(attn) = lt.attn {
                    tensors.insert(format!("attn.{l}"), attn);
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
    rollout: Option<&'a [f32]>,
    engine: &'a str,
}

impl Report<'_> {
    fn json(&self) -> serde_json::Value {
        let p = self.cfg.patch;
        let mut v = json!({
            "image": self.path.display().to_string(),
            "engine": self.engine,
            "input_size": self.size,
            "grid": [self.size[0] / p, self.size[1] / p],
            "logits": self.logits,
            "top5": predictions(self.cfg, self.logits, 5),
            "layers": layers_json(self.layers),
            "attention_mean": self.attention_mean,
        });
        if let Some(r) = self.rollout {
            v["rollout"] = json!(r);
        }
        v
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
        if let Some(r) = self.rollout {
            let gw = (self.size[1] / self.cfg.patch).max(1);
            let (top, v) =
                r.iter()
                    .enumerate()
                    .fold((0, f32::MIN), |b, (i, &v)| if v > b.1 { (i, v) } else { b });
            println!(
                "  rollout to the last layer: the patches hold {:.1}% of the CLS row; the \
                 largest is patch (row {}, column {}) with {:.2}%",
                100.0 * r.iter().sum::<f32>(),
                top / gw,
                top % gw,
                100.0 * v
            );
        }
        println!();
    }
}
