//! `whitebox train`: trains a CRATE on Fashion-MNIST or the synthetic shapes with the CPU
//! reference backward or on the GPU (`--engine gpu`, the WGSL backward), checkpointing every
//! epoch and on Ctrl-C; `--resume DIR` continues (exactly on the CPU, within float tolerance on
//! the GPU).

use std::fs::OpenOptions;
use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use anyhow::{bail, Context};
use clap::ValueEnum;

use super::progress::{Progress, TRAIN_TEMPLATE};
use super::EngineKind;
use crate::data::synthetic::{ShapesConfig, ShapesDataset, SubspaceImages};
use crate::data::{Augment, FashionMnist, Hide, ImageDataset, ImageU8, Split};
use crate::model::{config::PRESETS, init::init_params, CrateConfig};
use crate::train::{
    checkpoint, CpuSteps, Held, Hooks, OptimConfig, OptimizerKind, Running, Selection, StepEngine,
    StepReport, TrainConfig, Trainer,
};

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum DatasetKind {
    /// Fashion-MNIST (Debian's dataset-fashion-mnist, or --data DIR).
    Fmnist,
    /// Synthetic shapes on textured backgrounds (5 classes), at the preset's image size.
    Shapes,
    /// Tokens from a mixture of K random p-dimensional subspaces of R^32 (noise σ), N tokens
    /// per sample, labelled by subspace (--subspaces, --subspace-dim, --noise, --tokens;
    /// default 4, 4, 0.05, 16); fed as 1×N images of 32 channels with patch 1, so each token is
    /// one patch vector (8000 training, 2000 test samples).
    Subspaces,
    /// Own images: --data DIR or FILE.zip with one sub-folder per class, fitted to the preset's
    /// input; 15 % of each class held out (seeded); unusable files are skipped and listed.
    Folder,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum SelectArg {
    Accuracy,
    Segment,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum OptimizerArg {
    Adamw,
    Lion,
}

#[derive(clap::Args, Debug)]
pub struct Args {
    #[arg(long, value_enum, default_value_t = DatasetKind::Fmnist)]
    pub dataset: DatasetKind,
    /// Fashion-MNIST directory (default: /usr/share/datasets/fashion-mnist); with --dataset
    /// folder, a directory or .zip with one sub-folder per class.
    #[arg(long)]
    pub data: Option<PathBuf>,
    #[command(flatten)]
    pub subspace: super::datasets::SubspaceArgs,
    #[command(flatten)]
    pub shapes: super::datasets::ShapesArgs,
    /// Model shape (fresh, seeded initialisation).
    #[arg(long, default_value = "crate-fmnist", value_parser = clap::builder::PossibleValuesParser::new(PRESETS))]
    pub preset: String,
    #[command(flatten)]
    pub shape: super::common::ShapeArgs,
    /// Epochs of a fresh run [default: 10; 1 to 100000]. With --resume the saved run's count
    /// stands: giving a different one is an error (start a new run with --init to train on).
    #[arg(long, value_parser = super::validate::epochs)]
    pub epochs: Option<u64>,
    #[arg(long, default_value_t = 128, value_parser = super::validate::batch)]
    pub batch: usize,
    /// Peak learning rate (after warm-up), above 0 and at most 10.
    #[arg(long, default_value_t = 1e-3, value_parser = super::validate::lr)]
    pub lr: f32,
    /// The cosine schedule's floor, from 0 to --lr.
    #[arg(long, default_value_t = 1e-5, value_parser = super::validate::min_lr)]
    pub min_lr: f32,
    #[arg(long, value_enum, default_value_t = OptimizerArg::Adamw)]
    pub optimizer: OptimizerArg,
    /// Decoupled weight decay (not on norms, biases, cls_token, pos_embedding), 0 to 10.
    #[arg(long, default_value_t = 0.05, value_parser = super::validate::weight_decay)]
    pub weight_decay: f32,
    #[arg(long, default_value_t = 1.0, value_parser = super::validate::warmup_epochs)]
    pub warmup_epochs: f32,
    /// 0 to 0.999.
    #[arg(long, default_value_t = 0.1, value_parser = super::validate::label_smoothing)]
    pub label_smoothing: f32,
    /// Global-norm gradient clipping (0: off; at most 1e6).
    #[arg(long, default_value_t = 1.0, value_parser = super::validate::clip)]
    pub clip: f32,
    /// Random crop (2-pixel padding) and horizontal flip.
    #[arg(long)]
    pub augment: bool,
    /// Hide-and-seek: paint over each cell of a grid with the normalisation mean with this
    /// probability (0 to 0.95), after any --augment crop and flip; makes the classifier use the
    /// whole object rather than its few most telling patches.
    #[arg(long, value_parser = super::validate::hide_prob)]
    pub hide: Option<f32>,
    /// The hidden cells' side in pixels [default: the preset's patch size, one token a cell].
    #[arg(long, requires = "hide", value_parser = clap::value_parser!(u64).range(1..=4096))]
    pub hide_cell: Option<u64>,
    /// Where the steps run: the CPU reference backward, or the GPU (WGSL forward + backward +
    /// optimiser, one submit per step). Accuracy and loss are evaluated on the same engine; the
    /// per-layer R^c and sparsity on the CPU engine.
    #[arg(long, value_enum, default_value_t = EngineKind::Cpu)]
    pub engine: EngineKind,
    /// With --engine gpu: read the loss and accuracy back every N steps (also at metrics lines
    /// and epoch ends); the progress line updates then.
    #[arg(long, default_value_t = 10)]
    pub read_every: u64,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Checkpoint directory (model.safetensors, best.safetensors with --val, optim.safetensors,
    /// state.json, metrics.jsonl). Defaults to the --resume directory.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Continue the run saved in DIR exactly (its saved settings win over the flags above).
    #[arg(long)]
    pub resume: Option<PathBuf>,
    /// Start a fresh run (new optimiser, schedule, data order) from this model's weights instead
    /// of a seeded initialisation (fine-tuning).
    #[arg(long, value_name = "MODEL", conflicts_with = "resume")]
    pub init: Option<PathBuf>,
    /// Train on the first N training images only.
    #[arg(long)]
    pub limit_train: Option<usize>,
    /// Evaluate on the first N test images only (default: all).
    #[arg(long)]
    pub limit_test: Option<usize>,
    /// A step metrics line every N steps.
    #[arg(long, default_value_t = 50)]
    pub log_every: u64,
    /// Hold out the last N training images (after --limit-train) as a validation set: every
    /// epoch is evaluated on it and the best is kept (best.safetensors); the test split is not
    /// touched (measure it once with --evaluate). 0: epochs are evaluated on the test split,
    /// for the learning curve only, and none is kept as best.
    #[arg(long, default_value_t = 0)]
    pub val: usize,
    /// How the kept checkpoint (best.safetensors) is chosen on the validation images (--val):
    /// `accuracy`, or `segment`: the best layer's CLS-attention mIoU (60 % mass masks, mean over
    /// heads) against the true masks, among epochs with accuracy ≥ --select-min-accuracy
    /// (--dataset shapes only).
    #[arg(long, value_enum, default_value_t = SelectArg::Accuracy)]
    pub select: SelectArg,
    /// The accuracy an epoch needs to be chosen by --select segment (0 to 1).
    #[arg(long, default_value_t = 0.95, value_parser = super::validate::fraction)]
    pub select_min_accuracy: f64,
    /// Evaluation images whose attention is scored against their masks every epoch (`val_miou_*`
    /// in metrics.jsonl) [default: 200 with --select segment, else 0; shapes only].
    #[arg(long)]
    pub segment_images: Option<usize>,
    /// Test (or validation) images for the per-layer R^c and sparsity.
    #[arg(long, default_value_t = 256)]
    pub stats_images: usize,
    /// Stop after N optimiser steps of the run (counted from its start), writing the
    /// checkpoint as Ctrl-C does (used to compare the page's training with this one).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub steps: Option<u64>,
    /// Train nothing: evaluate this model file on the dataset's test split (accuracy, loss,
    /// per-layer R^c and sparsity over --stats-images images) and print one JSON object.
    #[arg(long, value_name = "MODEL")]
    pub evaluate: Option<PathBuf>,
}

/// Items `start .. start + n` of a dataset (clamped to its length).
struct Slice<'a> {
    ds: &'a dyn ImageDataset,
    start: usize,
    n: usize,
}

impl ImageDataset for Slice<'_> {
    fn len(&self) -> usize {
        self.n.min(self.ds.len().saturating_sub(self.start))
    }
    fn image(&self, i: usize) -> ImageU8 {
        self.ds.image(self.start + i)
    }
    fn label(&self, i: usize) -> usize {
        self.ds.label(self.start + i)
    }
    fn class_names(&self) -> Vec<String> {
        self.ds.class_names()
    }
    fn mask(&self, i: usize) -> Option<Vec<bool>> {
        self.ds.mask(self.start + i)
    }
}

static STOP: AtomicBool = AtomicBool::new(false);

/// Ctrl-C (SIGINT) sets [`STOP`]; the training loop notices it between steps, saves a
/// checkpoint and returns, so that `--resume` continues exactly.
fn install_ctrl_c() -> anyhow::Result<()> {
    ctrlc::set_handler(|| STOP.store(true, Ordering::SeqCst))
        .context("installing the Ctrl-C handler")
}

/// The running figures of the epoch so far, as the bar's message and the plain lines show them.
fn running_figures(r: &StepReport, run: &Running) -> String {
    format!(
        "loss {:.4} acc {:.4} lr {:.2e} {:.0} img/s{}",
        run.loss(),
        run.accuracy(),
        r.lr,
        run.images_per_s,
        if run.skipped > 0 {
            format!(" ({} skipped: non-finite loss)", run.skipped)
        } else {
            String::new()
        }
    )
}

/// Epochs of a fresh run when --epochs is not given.
const DEFAULT_EPOCHS: u64 = 10;

/// The augmentation the flags ask for: crop and flip (--augment), hiding (--hide), both or none.
fn augmentation(a: &Args, cfg: &CrateConfig) -> Option<Augment> {
    let hide = a.hide.map(|prob| Hide {
        cell: a.hide_cell.map_or(cfg.patch, |c| c as usize),
        prob,
        // The channels' mean normalisation value as a pixel: a hidden cell becomes zero input.
        fill: (cfg.mean.iter().sum::<f32>() / cfg.mean.len() as f32 * 255.0)
            .round()
            .clamp(0.0, 255.0) as u8,
    });
    match (a.augment, hide) {
        (false, None) => None,
        (true, h) => Some(Augment::new(2, true).with_hide(h)),
        (false, h) => Some(Augment::new(0, false).with_hide(h)),
    }
}

pub fn run(a: Args) -> anyhow::Result<()> {
    if a.min_lr > a.lr && a.resume.is_none() {
        bail!(
            "--min-lr {} is above --lr {}: the cosine schedule decays from --lr down to --min-lr",
            a.min_lr,
            a.lr
        );
    }
    if a.resume.is_some() && a.shape.any() {
        bail!("--dim, --depth and --heads shape a fresh run: a resumed run keeps its saved shape");
    }
    let mut preset = a.shape.preset(&a.preset)?;
    if a.shapes.any() && a.dataset != DatasetKind::Shapes {
        bail!("--object-scale and --object-fill apply to --dataset shapes only");
    }
    let segment_images = a.segment_images.unwrap_or(match a.select {
        SelectArg::Segment => 200,
        SelectArg::Accuracy => 0,
    });
    if a.dataset != DatasetKind::Shapes && (segment_images > 0 || a.select == SelectArg::Segment) {
        bail!("--select segment and --segment-images need true masks: --dataset shapes only");
    }
    if a.select == SelectArg::Segment && segment_images == 0 {
        bail!("--select segment needs --segment-images above 0");
    }
    if a.select == SelectArg::Segment && a.val == 0 && a.resume.is_none() {
        bail!("--select segment chooses an epoch, which needs a validation split: give --val N");
    }
    if a.subspace.any() && a.dataset != DatasetKind::Subspaces {
        bail!(
            "--subspaces, --subspace-dim, --noise and --tokens apply to --dataset subspaces only"
        );
    }
    let (train, test): (Box<dyn ImageDataset>, Box<dyn ImageDataset>) = match a.dataset {
        DatasetKind::Fmnist => {
            let tr = FashionMnist::load(a.data.as_deref(), Split::Train)
                .context("loading the Fashion-MNIST training split")?;
            let te = FashionMnist::load(a.data.as_deref(), Split::Test)
                .context("loading the Fashion-MNIST test split")?;
            (Box::new(tr), Box::new(te))
        }
        DatasetKind::Shapes => (
            Box::new(ShapesDataset::new(
                a.shapes
                    .apply(ShapesConfig::for_model(&preset, 20_000, a.seed)),
            )?),
            Box::new(ShapesDataset::new(a.shapes.apply(
                ShapesConfig::for_model(&preset, 2_000, a.seed ^ 0x5eed_7e57),
            ))?),
        ),
        DatasetKind::Subspaces => {
            if a.augment || a.hide.is_some() {
                bail!(
                    "--augment and --hide change images: augmentation does not apply to --dataset subspaces"
                );
            }
            let (tr, te) = SubspaceImages::training(&a.subspace.config(a.seed))?;
            // The preset gives width, depth and heads; the input is 1 × T tokens of d channels.
            preset = tr.model_config(&preset);
            (Box::new(tr), Box::new(te))
        }
        DatasetKind::Folder => {
            let dir = a.data.as_deref().context(
                "--dataset folder needs --data DIR or --data FILE.zip (one sub-folder per class)",
            )?;
            let s = super::datasets::own_images(dir, &preset, a.seed)?;
            (Box::new(s.train), Box::new(s.test))
        }
    };
    if let Some(path) = &a.evaluate {
        let m = super::common::load_weights(path, None)?.model;
        let t = Trainer::new(m.config, &m.params, TrainConfig::new(1, 1, 0), 1)?;
        let ev = t.evaluate(test.as_ref(), a.limit_test)?;
        let layers = t.layer_summary(test.as_ref(), a.stats_images)?;
        let name = path.display();
        crate::finite::ensure_finite_value(ev.loss, &format!("{name}: the test loss"))?;
        for (l, s) in layers.iter().enumerate() {
            for v in [s.rc_in.0, s.rc_out.0, s.sparsity.0] {
                crate::finite::ensure_finite_value(v, &format!("{name}: layer {l}'s measures"))?;
            }
        }
        let stats_images = a.stats_images.min(test.len());
        println!(
            "{}",
            serde_json::json!({"test_accuracy": ev.accuracy, "test_loss": ev.loss,
                "test_images": ev.images, "stats_images": stats_images,
                "layers": layers.iter().map(|l| serde_json::json!({
                    "rc_in": l.rc_in.0, "rc_out": l.rc_out.0, "sparsity": l.sparsity.0}))
                    .collect::<Vec<_>>()})
        );
        return Ok(());
    }
    let train: Box<dyn ImageDataset> = match a.limit_train {
        Some(0) => bail!("--limit-train must be positive"),
        Some(n) => Box::new(Slice {
            ds: Box::leak(train),
            start: 0,
            n,
        }),
        None => train,
    };
    let resumed = match &a.resume {
        Some(dir) => Some(
            checkpoint::load(dir).with_context(|| format!("resuming from {}", dir.display()))?,
        ),
        None => None,
    };
    // The validation images: the last ones of the (limited) training split, never trained on.
    let val_n = resumed.as_ref().map_or(a.val, |t| t.state.train.val_images);
    if val_n >= train.len() {
        bail!(
            "--val {val_n} leaves no training images (the training split has {})",
            train.len()
        );
    }
    let (train, val): (Box<dyn ImageDataset>, Option<Box<dyn ImageDataset>>) = if val_n > 0 {
        let all: &'static dyn ImageDataset = Box::leak(train);
        (
            Box::new(Slice {
                ds: all,
                start: 0,
                n: all.len() - val_n,
            }),
            Some(Box::new(Slice {
                ds: all,
                start: all.len() - val_n,
                n: val_n,
            })),
        )
    } else {
        (train, None)
    };
    let mut trainer = match resumed {
        Some(t) => {
            let dir = a.resume.as_ref().expect("resuming");
            if let Some(e) = a.epochs.filter(|&e| e != t.state.train.epochs) {
                bail!(
                    "{}: --epochs {e} with --resume: the saved run is for {} epoch(s), and its \
                     schedule (warm-up, cosine decay) was fixed by that count; resuming continues \
                     it exactly, so the count cannot change. To train further, start a new run \
                     from its weights: --init {} --epochs {e}",
                    dir.display(),
                    t.state.train.epochs,
                    dir.join(checkpoint::MODEL_FILE).display()
                );
            }
            if a.dataset != DatasetKind::Fmnist && t.state.train.seed != a.seed {
                bail!(
                    "{}: the run was trained with --seed {}; give the same --seed to resume it \
                     (with --dataset {} the seed also makes or splits the data)",
                    dir.display(),
                    t.state.train.seed,
                    a.dataset
                        .to_possible_value()
                        .map_or_else(String::new, |v| v.get_name().to_string())
                );
            }
            if t.shuffler.state().len != train.len() {
                bail!(
                    "{}: the run trained on {} images, this dataset has {} (same --dataset and \
                     --limit-train as the original run?)",
                    dir.display(),
                    t.shuffler.state().len,
                    train.len()
                );
            }
            t
        }
        None => {
            let names = train.class_names();
            let cfg = CrateConfig {
                classes: names.len(),
                class_names: Some(names),
                ..preset
            };
            let params = match &a.init {
                Some(path) => {
                    let m = super::common::load_weights(path, None)?.model;
                    m.params.validate(&cfg).with_context(|| {
                        format!("{}: does not fit --preset {}", path.display(), a.preset)
                    })?;
                    m.params
                }
                None => init_params(&cfg, a.seed)?,
            };
            let kind = match a.optimizer {
                OptimizerArg::Adamw => OptimizerKind::AdamW,
                OptimizerArg::Lion => OptimizerKind::Lion,
            };
            let tc = TrainConfig {
                lr: a.lr,
                min_lr: a.min_lr,
                warmup_epochs: a.warmup_epochs,
                optim: OptimConfig::new(kind, a.weight_decay),
                label_smoothing: a.label_smoothing,
                clip_norm: (a.clip > 0.0).then_some(a.clip),
                augment: augmentation(&a, &cfg),
                log_every: a.log_every,
                stats_images: a.stats_images,
                eval_limit: a.limit_test,
                val_images: a.val,
                segment_images,
                select: match a.select {
                    SelectArg::Accuracy => Selection::Accuracy,
                    SelectArg::Segment => Selection::Segment {
                        min_accuracy: a.select_min_accuracy,
                    },
                },
                ..TrainConfig::new(a.epochs.unwrap_or(DEFAULT_EPOCHS), a.batch, a.seed)
            };
            Trainer::new(cfg, &params, tc, train.len())?
        }
    };
    let out = a
        .out
        .clone()
        .or_else(|| a.resume.clone())
        .context("--out DIR is required (where checkpoints go)")?;
    std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
    let mut metrics_file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(out.join("metrics.jsonl"))
        .with_context(|| format!("opening {}/metrics.jsonl", out.display()))?;
    install_ctrl_c()?;
    let tc = &trainer.state.train;
    eprintln!(
        "training {} (d={}, {} layers, {} heads; {} params) on {} images, {} epochs of {} steps (batch {}), {} lr {}, {} threads",
        a.preset,
        trainer.config.dim,
        trainer.config.depth,
        trainer.config.heads,
        trainer.params.tensors.values().map(|t| t.data.len()).sum::<usize>(),
        train.len(),
        tc.epochs,
        trainer.steps_per_epoch(),
        tc.batch,
        tc.optim.kind.as_str(),
        tc.lr,
        rayon::current_num_threads()
    );
    let mut engine: Box<dyn StepEngine> = match a.engine {
        EngineKind::Cpu => Box::new(CpuSteps),
        EngineKind::Gpu => {
            let ctx = crate::gpu::GpuContext::new_blocking().context("opening the GPU")?;
            eprintln!("GPU: {} ({:?})", ctx.info.name, ctx.info.backend);
            // --steps must see every step's report to stop exactly there.
            let read_every = if a.steps.is_some() { 1 } else { a.read_every };
            Box::new(crate::gpu::train::GpuSteps::new(ctx, &trainer, read_every)?)
        }
    };
    let t0 = Instant::now();
    let now = move || t0.elapsed().as_secs_f64();
    let mut io_err: Option<std::io::Error> = None;
    // On a terminal, a bar per epoch; elsewhere a plain line at every step metrics line.
    let bar = Progress::new(trainer.steps_per_epoch(), TRAIN_TEMPLATE);
    let mut bar_epoch = None;
    let last_line = std::cell::RefCell::new(String::new());
    let mut metrics = |v: &serde_json::Value| {
        if v["kind"] == "epoch" || v["kind"] == "stop" {
            bar.suspend(|| println!("{v}"));
        } else if v["kind"] == "step" {
            bar.plain(|| last_line.borrow().clone());
        }
        if let Err(e) = writeln!(metrics_file, "{v}") {
            io_err.get_or_insert(e);
        }
    };
    let stop_at = a.steps;
    let mut progress = |r: &StepReport, run: &Running| {
        if stop_at.is_some_and(|n| r.step >= n) {
            STOP.store(true, Ordering::SeqCst);
        }
        if bar_epoch != Some(run.epoch) {
            bar_epoch = Some(run.epoch);
            bar.restart(run.steps_per_epoch, format!("epoch {}", run.epoch + 1));
        }
        *last_line.borrow_mut() = format!(
            "epoch {} step {}/{} {}",
            run.epoch + 1,
            run.step_in_epoch,
            run.steps_per_epoch,
            running_figures(r, run)
        );
        bar.set(run.step_in_epoch, running_figures(r, run));
    };
    let out_dir = out.clone();
    let mut save = |t: &Trainer, best: bool| checkpoint::save(&out_dir, t, best);
    // The test split is never evaluated while a validation split chooses the epoch: test
    // figures come once, from `--evaluate`.
    let (held_out, held): (&dyn ImageDataset, Held) = match &val {
        Some(v) => (v.as_ref(), Held::Validation),
        None => (test.as_ref(), Held::Test),
    };
    trainer.train_split(
        engine.as_mut(),
        train.as_ref(),
        held_out,
        held,
        Hooks {
            now: &now,
            metrics: &mut metrics,
            progress: &mut progress,
            checkpoint: &mut save,
            stop: &STOP,
        },
    )?;
    drop(bar);
    if let Some(e) = io_err {
        return Err(e).context("writing metrics.jsonl");
    }
    if a.steps.is_some_and(|n| trainer.state.step >= n) {
        eprintln!(
            "stopped after {} steps: model in {}",
            trainer.state.step,
            out.display()
        );
    } else if STOP.load(Ordering::SeqCst) {
        eprintln!(
            "stopped: checkpoint in {} (continue with --resume {})",
            out.display(),
            out.display()
        );
    } else {
        let kept = match trainer.state.best_epoch {
            Some(e) => format!(
                "best validation accuracy {:.4} (epoch {e}{}) in {}",
                trainer.state.best_accuracy.unwrap_or(f64::NAN),
                match trainer.state.train.select {
                    Selection::Accuracy => String::new(),
                    Selection::Segment { min_accuracy } => format!(
                        ", chosen by attention mIoU among epochs with accuracy ≥ {min_accuracy}"
                    ),
                },
                checkpoint::BEST_FILE
            ),
            None => "no epoch chosen (give --val N to keep the best epoch on held-out \
                     training images; the test split chooses nothing)"
                .to_string(),
        };
        eprintln!(
            "done: {} steps ({} skipped), {kept}, {:.0} s; model in {}",
            trainer.state.step,
            trainer.state.skipped,
            trainer.state.wall_time_s,
            out.display()
        );
    }
    Ok(())
}
