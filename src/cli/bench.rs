use std::time::Instant;

use serde_json::json;

use super::progress::{Progress, BENCH_TEMPLATE};
use super::EngineKind;
use crate::bench::{bench_forward, bench_input, preset_matmul_shapes, MatmulShape};
use crate::model::{config::PRESETS, init::init_params, CrateConfig, Model};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Engine to measure.
    #[arg(long, value_enum, default_value_t = EngineKind::Cpu)]
    pub engine: EngineKind,
    /// Model shapes (random weights), comma separated.
    #[arg(long, value_delimiter = ',', default_value = "crate-fmnist,crate-t", value_parser = clap::builder::PossibleValuesParser::new(PRESETS))]
    pub preset: Vec<String>,
    /// Batch sizes to measure, comma separated (each 1 to 4096).
    #[arg(long, value_delimiter = ',', default_value = "1,32", value_parser = super::validate::batch)]
    pub batch: Vec<usize>,
    /// Timed repetitions per batch size (after one warm-up).
    #[arg(long, default_value_t = 3)]
    pub iters: usize,
    /// Print one JSON object per measurement instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Matmul micro-benchmark instead of forwards: GFLOP/s for square products (see
    /// --matmul-size) and the products of the presets' forward (at batch 1 and the largest
    /// `--batch`), on the chosen engine.
    #[arg(long)]
    pub matmul: bool,
    /// With --matmul: the sides of the square products, comma separated (16 to 8192; 4096 is
    /// the hardware-GPU figure of the README).
    #[arg(long, value_delimiter = ',', default_value = "1024", requires = "matmul", value_parser = clap::value_parser!(u32).range(16..=8192))]
    pub matmul_size: Vec<u32>,
    /// GPU engine: also time every kernel with timestamp queries (summed per kernel label over
    /// the timed forwards; with --train, of one training step); says so when the adapter has none.
    #[arg(long)]
    pub kernels: bool,
    /// Measure training steps (forward + backward + optimiser, AdamW) in images/s instead of
    /// the forward; on the GPU, steps are submitted back to back and read back once at the end.
    #[arg(long)]
    pub train: bool,
    /// CPU threads (1: single-thread, as the page's CPU worker runs) [default: all cores].
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..=1024))]
    pub threads: Option<u16>,
}

pub fn run(a: Args) -> anyhow::Result<()> {
    match a.threads {
        Some(n) => rayon::ThreadPoolBuilder::new()
            .num_threads(n as usize)
            .build()?
            .install(|| run_all(a)),
        None => run_all(a),
    }
}

fn run_all(a: Args) -> anyhow::Result<()> {
    anyhow::ensure!(
        a.batch.iter().all(|&b| b > 0),
        "batch sizes must be positive"
    );
    anyhow::ensure!(
        !a.kernels || a.engine == EngineKind::Gpu,
        "--kernels needs --engine gpu"
    );
    let t0 = Instant::now();
    let now = move || t0.elapsed().as_secs_f64() * 1e3;
    if a.matmul {
        return run_matmul(&a, &now);
    }
    if a.train {
        for preset in &a.preset {
            run_train(&a, preset)?;
        }
        return Ok(());
    }
    for preset in &a.preset {
        run_preset(&a, preset, &now)?;
    }
    Ok(())
}

fn run_preset(a: &Args, preset: &str, now: &dyn Fn() -> f64) -> anyhow::Result<()> {
    let cfg = CrateConfig::preset(preset)?;
    let model = Model::new(cfg.clone(), init_params(&cfg, 0)?)?;
    let [h, w] = cfg.image;
    let flops = cfg.forward_flops(h, w);
    let mut engine = super::make_engine(a.engine, model.clone())?;
    if !a.json {
        println!(
            "{} on {preset} ({h}x{w}, {:.3} GFLOP/image), {} threads",
            engine.name(),
            flops / 1e9,
            threads()
        );
        println!(
            "{:>6} {:>12} {:>12} {:>10}",
            "batch", "ms/image", "ms/batch", "GFLOP/s"
        );
    }
    for &b in &a.batch {
        let r = {
            let bar = measuring(format!("{preset} batch {b}"), a.iters);
            bench_forward(engine.as_mut(), &cfg, b, a.iters, now, &mut || bar.inc())?
        };
        if a.json {
            let mut v = serde_json::to_value(&r)?;
            v["preset"] = json!(preset);
            v["threads"] = json!(threads());
            println!("{v}");
        } else {
            println!(
                "{b:>6} {:>12.2} {:>12.2} {:>10.2}",
                r.ms_per_image, r.ms_per_batch, r.gflops
            );
        }
    }
    drop(engine);
    if a.kernels {
        kernel_times(a, preset, model)?;
    }
    Ok(())
}

/// Per-kernel GPU times from timestamp queries, summed per label over `iters` forwards.
fn kernel_times(a: &Args, preset: &str, model: Model) -> anyhow::Result<()> {
    let cfg = model.config.clone();
    let mut g = crate::gpu::GpuEngine::new_blocking(model)?;
    let adapter = g.context().info.name.clone();
    if !g.context().features.timestamp_query {
        let msg = format!("adapter {adapter} has no TIMESTAMP_QUERY: no per-kernel times");
        if a.json {
            println!(
                "{}",
                json!({"preset": preset, "kernels": null, "note": msg})
            );
        } else {
            println!("{msg}");
        }
        return Ok(());
    }
    for &b in &a.batch {
        let x = bench_input(&cfg, b);
        crate::Engine::forward(&mut g, &x, crate::ForwardOptions::default())?;
        g.set_profiling(true);
        let mut all = Vec::new();
        for _ in 0..a.iters.max(1) {
            crate::Engine::forward(&mut g, &x, crate::ForwardOptions::default())?;
            if let Some(t) = pollster::block_on(g.take_kernel_times())? {
                all.extend(t);
            }
        }
        g.set_profiling(false);
        let iters = a.iters.max(1) as f64;
        let per = crate::gpu::profile::by_label(&all);
        let total: f64 = per.iter().map(|k| k.total_ms).sum::<f64>() / iters;
        if a.json {
            let kernels: Vec<_> = per
                .iter()
                .map(|k| {
                    json!({
                        "label": k.label,
                        "dispatches_per_forward": k.dispatches as f64 / iters,
                        "ms_per_forward": k.total_ms / iters,
                    })
                })
                .collect();
            println!(
                "{}",
                json!({"preset": preset, "engine": "gpu", "adapter": adapter, "batch": b,
                       "iters": a.iters, "kernel_ms_per_forward": total, "kernels": kernels})
            );
        } else {
            println!(
                "kernels, {preset} batch {b} on {adapter} (timestamps, one pass per dispatch; \
                 per forward, mean of {} forwards): {total:.2} ms",
                a.iters.max(1)
            );
            println!(
                "{:>24} {:>10} {:>12} {:>7}",
                "kernel", "dispatches", "ms", "%"
            );
            for k in &per {
                println!(
                    "{:>24} {:>10.0} {:>12.3} {:>6.1}%",
                    k.label,
                    k.dispatches as f64 / iters,
                    k.total_ms / iters,
                    100.0 * k.total_ms / iters / total.max(1e-12)
                );
            }
        }
    }
    Ok(())
}

/// Per-kernel GPU times of one training step (forward, backward, optimiser; one submission).
fn train_kernel_times(
    a: &Args,
    g: &mut crate::gpu::train::GpuTrainer,
    preset: &str,
    b: usize,
    images: &[f32],
    labels: &[usize],
) -> anyhow::Result<()> {
    let adapter = g.context().info.name.clone();
    if !g.context().features.timestamp_query {
        println!("adapter {adapter} has no TIMESTAMP_QUERY: no per-kernel times");
        return Ok(());
    }
    g.set_profiling(true);
    g.step(images, labels, 1e-4, true)?;
    let times = pollster::block_on(g.take_kernel_times())?.unwrap_or_default();
    g.set_profiling(false);
    let per = crate::gpu::profile::by_label(&times);
    let total: f64 = per.iter().map(|k| k.total_ms).sum();
    if a.json {
        let kernels: Vec<_> = per
            .iter()
            .map(|k| json!({"label": k.label, "dispatches": k.dispatches, "ms": k.total_ms}))
            .collect();
        println!(
            "{}",
            json!({"kind": "train-kernels", "preset": preset, "adapter": adapter, "batch": b,
                   "kernel_ms_per_step": total, "kernels": kernels})
        );
        return Ok(());
    }
    println!("kernels of one training step, {preset} batch {b} on {adapter}: {total:.2} ms");
    for k in &per {
        println!(
            "{:>28} {:>10} {:>12.3} {:>6.1}%",
            k.label,
            k.dispatches,
            k.total_ms,
            100.0 * k.total_ms / total.max(1e-12)
        );
    }
    Ok(())
}

/// GFLOP/s of single products on the chosen engine.
fn run_matmul(a: &Args, now: &dyn Fn() -> f64) -> anyhow::Result<()> {
    let mut shapes: Vec<MatmulShape> = Vec::new();
    for &side in &a.matmul_size {
        let s = MatmulShape::square(side as usize);
        if !shapes.iter().any(|t| t.name == s.name) {
            shapes.push(s);
        }
    }
    let big = a.batch.iter().copied().max().unwrap_or(1);
    for preset in &a.preset {
        let cfg = CrateConfig::preset(preset)?;
        for s in preset_matmul_shapes(&cfg, big) {
            let name = format!("{preset} {}", s.name);
            shapes.push(MatmulShape { name, ..s });
        }
    }
    let mut gpu = match a.engine {
        EngineKind::Gpu => Some(crate::gpu::Gpu::new(crate::gpu::GpuContext::new_blocking()?)),
        EngineKind::Cpu => None,
    };
    if !a.json {
        println!(
            "matmul on {}",
            match &gpu {
                Some(g) => format!("gpu ({})", g.ctx.info.name),
                None => format!("cpu ({} threads)", threads()),
            }
        );
        println!(
            "{:>36} {:>6} {:>6} {:>6} {:>5} {:>10} {:>9}",
            "shape", "m", "n", "k", "B^T", "ms", "GFLOP/s"
        );
    }
    for s in &shapes {
        let r = {
            let bar = measuring(s.name.clone(), a.iters);
            let mut done = || bar.inc();
            match gpu.as_mut() {
                Some(g) => pollster::block_on(crate::bench::bench_matmul_gpu(
                    g, s, a.iters, now, &mut done,
                ))?,
                None => crate::bench::bench_matmul_cpu(s, a.iters, now, &mut done),
            }
        };
        if a.json {
            let mut v = serde_json::to_value(&r)?;
            v["threads"] = json!(threads());
            println!("{v}");
        } else {
            println!(
                "{:>36} {:>6} {:>6} {:>6} {:>5} {:>10.3} {:>9.2}",
                s.name, s.m, s.n, s.k, s.trans_b, r.ms, r.gflops
            );
        }
    }
    Ok(())
}

fn threads() -> usize {
    rayon::current_num_threads()
}

/// The progress bar of one measurement: a warm-up and `iters` timed runs.
fn measuring(what: String, iters: usize) -> Progress {
    let runs = iters.max(1) as u64 + 1;
    let bar = Progress::new(runs, BENCH_TEMPLATE);
    bar.restart(runs, what);
    bar
}

/// Training throughput: `iters` timed steps per batch size after one warm-up step.
fn run_train(a: &Args, preset: &str) -> anyhow::Result<()> {
    use crate::grad::ParamSet;
    use crate::train::{OptimConfig, Optimizer, TrainConfig, Trainer};
    let cfg = CrateConfig::preset(preset)?;
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
        println!("training steps, {} on {} ({h}x{w}), AdamW", name, preset);
        if let Some(d) = CrateConfig::preset_description(preset) {
            println!("  {preset}: {d}");
        }
        println!("{:>6} {:>12} {:>12}", "batch", "ms/step", "images/s");
    }
    for &b in &a.batch {
        anyhow::ensure!(b > 0, "batch sizes must be positive");
        let images = crate::rng::uniform(1, "bench-train", b * cfg.channels * h * w, 2.0);
        let labels: Vec<usize> = (0..b).map(|i| i % cfg.classes).collect();
        let bar = measuring(format!("{preset} batch {b} training steps"), a.iters);
        let secs = match gpu.as_mut() {
            Some(g) => {
                g.step(&images, &labels, 1e-4, true)?;
                bar.inc();
                let t = Instant::now();
                for _ in 0..a.iters {
                    g.step(&images, &labels, 1e-4, false)?;
                    bar.inc();
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
                bar.inc();
                let t0 = Instant::now();
                for _ in 0..a.iters {
                    t.train_batch(&images, &labels)?;
                    bar.inc();
                }
                t0.elapsed().as_secs_f64()
            }
        };
        drop(bar);
        if let (Some(g), true) = (gpu.as_mut(), a.kernels) {
            train_kernel_times(a, g, preset, b, &images, &labels)?;
        }
        let per = secs / a.iters.max(1) as f64;
        let ips = b as f64 / per;
        if a.json {
            println!(
                "{}",
                json!({"kind": "train", "engine": name, "preset": preset, "batch": b,
                    "ms_per_step": per * 1e3, "images_per_s": ips})
            );
        } else {
            println!("{b:>6} {:>12.1} {:>12.1}", per * 1e3, ips);
        }
    }
    Ok(())
}
