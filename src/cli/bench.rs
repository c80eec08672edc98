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
}

pub fn run(a: Args) -> anyhow::Result<()> {
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
