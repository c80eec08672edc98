use std::time::Instant;

use serde_json::json;

use super::EngineKind;
use crate::bench::bench_forward;
use crate::model::{config::PRESETS, init::init_params, CrateConfig, Model};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Engine to measure.
    #[arg(long, value_enum, default_value_t = EngineKind::Cpu)]
    pub engine: EngineKind,
    /// Model shape (random weights).
    #[arg(long, default_value = "crate-t", value_parser = clap::builder::PossibleValuesParser::new(PRESETS))]
    pub preset: String,
    /// Batch sizes to measure, comma separated.
    #[arg(long, value_delimiter = ',', default_value = "1,8")]
    pub batch: Vec<usize>,
    /// Timed repetitions per batch size (after one warm-up).
    #[arg(long, default_value_t = 5)]
    pub iters: usize,
    /// Print one JSON object per batch size instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Measure training steps (forward + backward + optimiser, AdamW) in images/s instead of
    /// the forward; on the GPU, steps are submitted back to back and read back once at the end.
    #[arg(long)]
    pub train: bool,
}

pub fn run(a: Args) -> anyhow::Result<()> {
    if a.train {
        return run_train(&a);
    }
    let cfg = CrateConfig::preset(&a.preset)?;
    let model = Model::new(cfg.clone(), init_params(&cfg, 0)?)?;
    let mut engine = super::make_engine(a.engine, model)?;
    let [h, w] = cfg.image;
    let flops = cfg.forward_flops(h, w);
    if !a.json {
        println!(
            "{} on {} ({h}x{w}, {:.2} GFLOP/image), {} threads",
            engine.name(),
            a.preset,
            flops / 1e9,
            threads()
        );
        println!(
            "{:>6} {:>12} {:>12} {:>10}",
            "batch", "ms/image", "ms/batch", "GFLOP/s"
        );
    }
    let t0 = Instant::now();
    let now = move || t0.elapsed().as_secs_f64() * 1e3;
    for &b in &a.batch {
        anyhow::ensure!(b > 0, "batch sizes must be positive");
        let r = bench_forward(engine.as_mut(), &cfg, b, a.iters, &now)?;
        if a.json {
            let mut v = serde_json::to_value(&r)?;
            v["preset"] = json!(a.preset);
            v["threads"] = json!(threads());
            println!("{v}");
        } else {
            println!(
                "{b:>6} {:>12.2} {:>12.2} {:>10.1}",
                r.ms_per_image, r.ms_per_batch, r.gflops
            );
        }
    }
    Ok(())
}

fn threads() -> usize {
    rayon::current_num_threads()
}

/// Training throughput: `iters` timed steps per batch size after one warm-up step.
fn run_train(a: &Args) -> anyhow::Result<()> {
    use crate::grad::ParamSet;
    use crate::train::{OptimConfig, Optimizer, TrainConfig, Trainer};
    let cfg = CrateConfig::preset(&a.preset)?;
    let params = init_params(&cfg, 0)?;
    let [h, w] = cfg.image;
    let mut gpu = None;
    let name = match a.engine {
        EngineKind::Cpu => format!("cpu ({} threads)", threads()),
        EngineKind::Gpu => {
            let ctx = crate::gpu::GpuContext::new_blocking()?;
            let n = format!("gpu ({})", ctx.info.name);
            let p = ParamSet::<f32>::from_params(&params);
            let o = Optimizer::new(OptimConfig::adamw(0.05), &p);
            let sc = crate::gpu::train::GpuStepConfig {
                optim: o.config,
                label_smoothing: 0.1,
                clip_norm: Some(1.0),
            };
            gpu = Some(crate::gpu::train::GpuTrainer::new(ctx, &cfg, &p, &o, sc)?);
            n
        }
    };
    if !a.json {
        println!("training steps, {} on {} ({h}x{w}), AdamW", name, a.preset);
        println!("{:>6} {:>12} {:>12}", "batch", "ms/step", "images/s");
    }
    for &b in &a.batch {
        anyhow::ensure!(b > 0, "batch sizes must be positive");
        let images = crate::rng::uniform(1, "bench-train", b * cfg.channels * h * w, 2.0);
        let labels: Vec<usize> = (0..b).map(|i| i % cfg.classes).collect();
        let secs = match gpu.as_mut() {
            Some(g) => {
                g.step(&images, &labels, 1e-4, true)?;
                let t = Instant::now();
                for _ in 0..a.iters {
                    g.step(&images, &labels, 1e-4, false)?;
                }
                g.stats()?;
                t.elapsed().as_secs_f64()
            }
            None => {
                let tc = TrainConfig {
                    lr: 1e-4,
                    label_smoothing: 0.1,
                    ..TrainConfig::new(1, b, 0)
                };
                let mut t = Trainer::new(cfg.clone(), &params, tc, b)?;
                t.train_batch(&images, &labels)?;
                let t0 = Instant::now();
                for _ in 0..a.iters {
                    t.train_batch(&images, &labels)?;
                }
                t0.elapsed().as_secs_f64()
            }
        };
        let per = secs / a.iters.max(1) as f64;
        let ips = b as f64 / per;
        if a.json {
            println!(
                "{}",
                json!({"kind": "train", "engine": name, "preset": a.preset, "batch": b,
                    "ms_per_step": per * 1e3, "images_per_s": ips})
            );
        } else {
            println!("{b:>6} {:>12.1} {:>12.1}", per * 1e3, ips);
        }
    }
    Ok(())
}
