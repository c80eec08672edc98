//! Forward-pass benchmark shared by `whitebox bench` and the page's `?bench=` mode, so that the
//! native and the browser figures are measured the same way.

use serde::Serialize;

use crate::error::Result;
use crate::{CrateConfig, Engine, ForwardOptions, Tensor};

#[derive(Clone, Debug, Serialize)]
pub struct BenchResult {
    pub engine: String,
    pub batch: usize,
    pub iters: usize,
    /// Median time of one forward of the whole batch.
    pub ms_per_batch: f64,
    pub ms_per_image: f64,
    pub gflops: f64,
}

/// The benchmark's input: a seeded random batch at the config's training size.
pub fn bench_input(cfg: &CrateConfig, batch: usize) -> Tensor {
    let [h, w] = cfg.image;
    let n = batch * cfg.channels * h * w;
    Tensor {
        shape: vec![batch, cfg.channels, h, w],
        data: crate::rng::uniform(1, "bench", n, 1.0),
    }
}

/// The median of `times_ms` (one entry per timed forward of the whole batch) as a result.
pub fn summarise(
    engine: &str,
    cfg: &CrateConfig,
    batch: usize,
    mut times_ms: Vec<f64>,
) -> BenchResult {
    times_ms.sort_by(f64::total_cmp);
    let median = times_ms
        .get(times_ms.len() / 2)
        .copied()
        .unwrap_or(f64::NAN);
    let per_image = median / batch as f64;
    let [h, w] = cfg.image;
    BenchResult {
        engine: engine.to_string(),
        batch,
        iters: times_ms.len(),
        ms_per_batch: median,
        ms_per_image: per_image,
        gflops: cfg.forward_flops(h, w) / (per_image * 1e-3) / 1e9,
    }
}

/// Times `iters` forwards (after one warm-up) of a random batch at the config's input size and
/// reports the median. `now_ms` is the clock: `Instant` natively, `performance.now()` on the web.
pub fn bench_forward(
    engine: &mut dyn Engine,
    cfg: &CrateConfig,
    batch: usize,
    iters: usize,
    now_ms: &dyn Fn() -> f64,
) -> Result<BenchResult> {
    let x = bench_input(cfg, batch);
    engine.forward(&x, ForwardOptions::default())?;
    let mut times = Vec::with_capacity(iters.max(1));
    for _ in 0..iters.max(1) {
        let t = now_ms();
        engine.forward(&x, ForwardOptions::default())?;
        times.push(now_ms() - t);
    }
    Ok(summarise(engine.name(), cfg, batch, times))
}
