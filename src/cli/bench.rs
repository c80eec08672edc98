use std::time::Instant;

use serde_json::json;

use super::EngineKind;
use crate::model::{config::PRESETS, init::init_params, CrateConfig, Model};
use crate::{ForwardOptions, Tensor};

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
    for &b in &a.batch {
        anyhow::ensure!(b > 0, "batch sizes must be positive");
        let n = b * cfg.channels * h * w;
        let x = Tensor {
            shape: vec![b, cfg.channels, h, w],
            data: crate::rng::uniform(1, "bench", n, 1.0),
        };
        engine.forward(&x, ForwardOptions::default())?;
        let mut times = Vec::with_capacity(a.iters);
        for _ in 0..a.iters.max(1) {
            let t = Instant::now();
            engine.forward(&x, ForwardOptions::default())?;
            times.push(t.elapsed().as_secs_f64());
        }
        times.sort_by(f64::total_cmp);
        let median = times[times.len() / 2];
        let per_image = median / b as f64;
        let gflops = flops / per_image / 1e9;
        if a.json {
            println!(
                "{}",
                json!({"engine": engine.name(), "preset": a.preset, "batch": b, "ms_per_image": per_image * 1e3,
                       "ms_per_batch": median * 1e3, "gflops": gflops, "threads": threads(), "iters": times.len()})
            );
        } else {
            println!(
                "{b:>6} {:>12.2} {:>12.2} {gflops:>10.1}",
                per_image * 1e3,
                median * 1e3
            );
        }
    }
    Ok(())
}

fn threads() -> usize {
    rayon::current_num_threads()
}
