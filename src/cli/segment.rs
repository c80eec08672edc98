//! `whitebox segment`: how segmentation-like each layer's and head's CLS attention is, as mIoU
//! against true masks (synthetic shapes, or a folder of image + mask pairs). The numbers are
//! defined in `analysis::segment`.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use serde_json::json;

use super::EngineKind;
use crate::analysis::maps::cls_rows_of;
use crate::analysis::segment::{
    patch_truth, patch_truth_mask, MapScore, SegmentScorer, SegmentScores, TruthRule, DEFAULT_MASS,
};
use crate::data::batch::images_to_tensor;
use crate::data::image::{decode_image, preprocess, DecodeLimits, Resize};
use crate::data::synthetic::{ShapesConfig, ShapesDataset};
use crate::{CrateConfig, ForwardOptions, Tensor};

/// The held-out split `whitebox train --dataset shapes --seed 0` evaluates on.
const HELD_OUT_SEED: u64 = 0x5eed_7e57;

#[derive(Copy, Clone, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum SegmentDataset {
    /// Synthetic shapes on textures, generated at the model's input size, with exact masks.
    Shapes,
}

#[derive(clap::Args, Debug)]
#[command(after_help = "Scores (see src/analysis/segment.rs):
  truth      the pixel mask reduced to the patch grid by strict majority (a patch is
             foreground when more than half of its pixels are; exactly half is background);
             --truth any: a patch with any object pixel (the object's extent), --truth
             outline: a patch with both object and background pixels (its boundary)
  IoU        |pred & truth| / |pred | truth|; 1 when both are empty
  mass       DINO's mask: the fewest patches holding the fraction --threshold of the CLS
             attention row's mass (renormalised over the patches); `mean` masks the head mean
  best fixed the map min-max normalised, foreground where >= theta, theta in 0.05..0.95 step
             0.05 chosen per layer and head for the highest mIoU on the SAME images: an oracle
             upper bound, not a held-out number
--pairs DIR: every NAME.png in DIR (other than *.mask.png) needs NAME.mask.png of the same size;
  mask = pixels that are non-zero in any channel (alpha is composited over white, so use opaque
  masks). A missing mask, a size mismatch or an undecodable file stops the run with an error
  naming the file. Images are fitted like `forward` (--resize), masks with the same geometry by
  nearest neighbour.")]
pub struct Args {
    /// Weight file: safetensors or an official PyTorch checkpoint.
    #[arg(long)]
    pub weights: PathBuf,
    /// Number of heads, for checkpoints that do not record it.
    #[arg(long)]
    pub heads: Option<usize>,
    /// A generated dataset with exact masks.
    #[arg(
        long,
        value_enum,
        required_unless_present = "pairs",
        conflicts_with = "pairs"
    )]
    pub dataset: Option<SegmentDataset>,
    /// A folder of NAME.png + NAME.mask.png pairs.
    #[arg(long)]
    pub pairs: Option<PathBuf>,
    /// How many generated images to score.
    #[arg(long, default_value_t = 200)]
    pub images: usize,
    /// Seed of the generated images (default: the held-out split of `train --seed 0`).
    #[arg(long, default_value_t = HELD_OUT_SEED)]
    pub seed: u64,
    #[command(flatten)]
    pub shapes: super::datasets::ShapesArgs,
    /// Fraction of the attention mass the mass-threshold mask keeps.
    #[arg(long, default_value_t = DEFAULT_MASS)]
    pub threshold: f32,
    /// How the true mask is reduced to the patch grid.
    #[arg(long, value_enum, default_value_t = TruthRule::Majority)]
    pub truth: TruthRule,
    /// How `--pairs` images (and their masks) are fitted to the model's input size.
    #[arg(long, default_value = "imagenet")]
    pub resize: Resize,
    #[arg(long, value_enum, default_value_t = EngineKind::Cpu)]
    pub engine: EngineKind,
    /// Images per forward pass.
    #[arg(long, default_value_t = 32)]
    pub batch: usize,
    /// Print one JSON object instead of the tables.
    #[arg(long)]
    pub json: bool,
}

/// One scored input: the model input (C, H, W) and its truth on the patch grid.
struct Item {
    input: Tensor,
    truth: Vec<bool>,
}

fn shapes_items(
    cfg: &CrateConfig,
    n: usize,
    seed: u64,
    shapes: &super::datasets::ShapesArgs,
    rule: TruthRule,
) -> anyhow::Result<Vec<Item>> {
    let ds = ShapesDataset::new(shapes.apply(ShapesConfig::for_model(cfg, n, seed)))?;
    let [h, w] = cfg.image;
    (0..n)
        .map(|i| {
            let s = ds.sample(i);
            let mut input = images_to_tensor(std::slice::from_ref(&s.image), cfg)?;
            input.shape.remove(0);
            let mask: Vec<bool> = s.mask.iter().map(|&m| m != 0).collect();
            Ok(Item {
                input,
                truth: patch_truth_mask(&mask, h, w, cfg.patch, rule),
            })
        })
        .collect()
}

/// The pairs of a folder, sorted by name: (image, mask) paths.
fn list_pairs(dir: &Path) -> anyhow::Result<Vec<(PathBuf, PathBuf)>> {
    let mut images = Vec::new();
    for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let path = entry?.path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if let Some(stem) = name.strip_suffix(".png") {
            if !stem.ends_with(".mask") {
                images.push((path.clone(), dir.join(format!("{stem}.mask.png"))));
            }
        }
    }
    images.sort();
    if images.is_empty() {
        bail!(
            "{}: no NAME.png images (with NAME.mask.png masks)",
            dir.display()
        );
    }
    for (img, mask) in &images {
        if !mask.is_file() {
            bail!("{}: no mask; expected {}", img.display(), mask.display());
        }
    }
    Ok(images)
}

fn pair_items(
    cfg: &CrateConfig,
    pairs: &[(PathBuf, PathBuf)],
    resize: Resize,
    rule: TruthRule,
) -> anyhow::Result<Vec<Item>> {
    let limits = DecodeLimits::default();
    let decode = |p: &Path| -> anyhow::Result<_> {
        let bytes = std::fs::read(p).with_context(|| format!("reading {}", p.display()))?;
        Ok(decode_image(&bytes, &p.display().to_string(), &limits)?)
    };
    pairs
        .iter()
        .map(|(ip, mp)| {
            let img = decode(ip)?;
            let m = decode(mp)?;
            let input = preprocess(&img, cfg, cfg.image, resize)?;
            let hw = [img.height as usize, img.width as usize];
            let truth = patch_truth(&m, hw, cfg.image, resize, cfg.patch, rule)
                .with_context(|| format!("fitting {}", mp.display()))?;
            Ok(Item { input, truth })
        })
        .collect()
}

pub fn run(a: Args) -> anyhow::Result<()> {
    if !(a.threshold > 0.0 && a.threshold <= 1.0) {
        bail!("--threshold must be in (0, 1], got {}", a.threshold);
    }
    if a.images == 0 || a.batch == 0 {
        bail!("--images and --batch must be at least 1");
    }
    let loaded = super::common::load_weights(&a.weights, a.heads)?;
    if !a.json {
        for n in &loaded.notes {
            eprintln!("note: {n}");
        }
    }
    let cfg = loaded.model.config.clone();
    let rule = a.truth;
    let (source, items, files) = match (&a.pairs, a.dataset) {
        (Some(dir), _) => {
            let pairs = list_pairs(dir)?;
            let items = pair_items(&cfg, &pairs, a.resize, rule)?;
            let names: Vec<String> = pairs.iter().map(|(i, _)| i.display().to_string()).collect();
            (format!("pairs in {}", dir.display()), items, Some(names))
        }
        (None, Some(SegmentDataset::Shapes)) => (
            format!("shapes (seed {})", a.seed),
            shapes_items(&cfg, a.images, a.seed, &a.shapes, rule)?,
            None,
        ),
        (None, None) => bail!("give --dataset shapes or --pairs DIR"),
    };
    let mut engine = super::make_engine(a.engine, loaded.model)?;
    let mut scorer = SegmentScorer::new(cfg.depth, cfg.heads, a.threshold);
    let opts = ForwardOptions {
        cls: true,
        ..Default::default()
    };
    let mut sizes = Vec::new();
    let mut start = 0;
    while start < items.len() {
        // A batch is consecutive inputs of one size (with --resize none sizes may differ).
        let shape = &items[start].input.shape;
        let mut end = start + 1;
        while end < items.len() && end - start < a.batch && &items[end].input.shape == shape {
            end += 1;
        }
        let inputs: Vec<Tensor> = items[start..end].iter().map(|i| i.input.clone()).collect();
        let batch = Tensor::stack(&inputs);
        let (h, w) = (batch.shape[2], batch.shape[3]);
        if !sizes.contains(&[h, w]) {
            sizes.push([h, w]);
        }
        let nt = cfg.tokens_at([h, w]);
        let out = engine.forward(&batch, opts)?;
        let cls = out.cls.context("engine returned no attention rows")?;
        let per = cfg.heads * nt;
        for (i, item) in items[start..end].iter().enumerate() {
            let rows: Vec<Vec<Vec<f32>>> = cls
                .iter()
                .map(|t| cls_rows_of(&t.data[i * per..(i + 1) * per], cfg.heads, nt))
                .collect();
            scorer.add(&rows, &item.truth)?;
        }
        start = end;
    }
    let scores = scorer.finish();
    let p = cfg.patch;
    if a.json {
        let v = json!({
            "source": source,
            "engine": engine.name(),
            "input_sizes": sizes,
            "grids": sizes.iter().map(|s| [s[0] / p, s[1] / p]).collect::<Vec<_>>(),
            "files": files,
            "truth": rule.as_str(),
            "fixed_threshold_note": "best fixed threshold chosen per layer and head on the same \
                images it is scored on: an oracle upper bound",
            "scores": scores,
        });
        println!("{v}");
    } else {
        print_tables(&source, engine.name(), &sizes, p, rule, &scores);
    }
    Ok(())
}

fn print_tables(
    source: &str,
    engine: &str,
    sizes: &[[usize; 2]],
    p: usize,
    rule: TruthRule,
    s: &SegmentScores,
) {
    let sz: Vec<String> = sizes
        .iter()
        .map(|[h, w]| format!("{h}x{w} ({}x{} patches)", h / p, w / p))
        .collect();
    println!(
        "segment: {} images, {source}, input {}, {engine} engine",
        s.images,
        sz.join(", ")
    );
    println!(
        "true mask ({} of each patch): mean area {:.4} of the patches; every-patch-foreground \
         mIoU {:.4}",
        match rule {
            TruthRule::Majority => "strict majority",
            TruthRule::Any => "any pixel",
            TruthRule::Outline => "object and background pixels",
        },
        s.mask_area,
        s.all_foreground_miou
    );
    let heads = s.layers.first().map_or(0, |l| l.heads.len());
    let header = |w: usize| {
        let mut h = String::from("  layer");
        for k in 0..heads {
            h += &format!("{:>w$}", format!("h{k}"));
        }
        h + &format!("{:>w$}", "mean")
    };
    println!();
    println!(
        "mIoU of the mass-threshold mask (keeps {:.0}% of the CLS attention mass):",
        s.mass * 100.0
    );
    // A table of one number per layer and map (each head, then the head mean).
    let table = |f: fn(&MapScore) -> f64| {
        println!("{}", header(8));
        for (l, ls) in s.layers.iter().enumerate() {
            let mut row = format!("  {l:>5}");
            for m in ls.heads.iter().chain(std::iter::once(&ls.mean)) {
                row += &format!("{:>8.4}", f(m));
            }
            println!("{row}");
        }
    };
    table(|m| m.miou_mass);
    let bm = s.best_layer_mass;
    println!(
        "  best layer (head mean): {bm}, mIoU {:.4}",
        s.layers[bm].mean.miou_mass
    );
    println!();
    println!(
        "mIoU at the best fixed threshold (mIoU@theta on the min-max-normalised map; theta in \
         0.05..0.95 step 0.05,\nchosen per layer and head on these same images: an oracle upper \
         bound, not a held-out score):"
    );
    println!("{}", header(12));
    for (l, ls) in s.layers.iter().enumerate() {
        let mut row = format!("  {l:>5}");
        for m in ls.heads.iter().chain(std::iter::once(&ls.mean)) {
            row += &format!(
                "{:>12}",
                format!("{:.4}@{:.2}", m.miou_best, m.best_threshold)
            );
        }
        println!("{row}");
    }
    let bf = s.best_layer_fixed;
    println!(
        "  best layer (head mean): {bf}, mIoU {:.4} at theta {:.2}",
        s.layers[bf].mean.miou_best, s.layers[bf].mean.best_threshold
    );
    println!();
    println!(
        "share of the CLS attention mass on the true mask's patches (a uniform map puts {:.4} \
         there,\nthe mask's mean area; one on the mask alone puts 1):",
        s.mask_area
    );
    table(|m| m.object_share);
}
