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

/// One matmul shape of the micro-benchmark: `(m, k)·(k, n)`, or `(m, k)·(n, k)^T` (F.linear)
/// when `trans_b`.
#[derive(Clone, Debug, Serialize)]
pub struct MatmulShape {
    pub name: String,
    pub m: usize,
    pub n: usize,
    pub k: usize,
    pub trans_b: bool,
}

impl MatmulShape {
    pub fn flops(&self) -> f64 {
        2.0 * (self.m * self.n * self.k) as f64
    }
}

/// 1024³ and the products of a CRATE forward at the config's training size (crate-t: N = 197,
/// d = 384, P = 768), at batch 1 and `batch`: the patch embedding, the MSSA projection U and
/// output projection (F.linear, d×d), ISTA's `y D^T` (F.linear) and `r D` (plain).
pub fn matmul_shapes(cfg: &CrateConfig, batch: usize) -> Vec<MatmulShape> {
    let [h, w] = cfg.image;
    let n = (h / cfg.patch) * (w / cfg.patch);
    let (d, pl) = (cfg.dim, cfg.patch_len());
    let s = |name: String, m, nn, k, trans_b| MatmulShape {
        name,
        m,
        n: nn,
        k,
        trans_b,
    };
    let mut v = vec![s("1024^3".into(), 1024, 1024, 1024, false)];
    for b in [1, batch] {
        let rows = b * (n + 1);
        v.push(s(format!("embed b{b}"), b * n, d, pl, true));
        v.push(s(format!("mssa U / to_out b{b}"), rows, d, d, true));
        v.push(s(format!("ista r D b{b}"), rows, d, d, false));
        if b == batch {
            break;
        }
    }
    v
}

#[derive(Clone, Debug, Serialize)]
pub struct MatmulResult {
    pub engine: String,
    #[serde(flatten)]
    pub shape: MatmulShape,
    pub iters: usize,
    /// Median time of one product.
    pub ms: f64,
    pub gflops: f64,
}

/// The CPU engine's GEMM on `shape`: median of `iters` timed products after one warm-up.
pub fn bench_matmul_cpu(
    shape: &MatmulShape,
    iters: usize,
    now_ms: &dyn Fn() -> f64,
) -> MatmulResult {
    use crate::cpu::gemm::{gemm, MatMut, MatRef, Threads};
    let a = crate::rng::uniform(1, "mm-a", shape.m * shape.k, 1.0);
    let b = crate::rng::uniform(2, "mm-b", shape.n * shape.k, 1.0);
    let mut c = vec![0.0f32; shape.m * shape.n];
    let mut run = || {
        let bm = if shape.trans_b {
            MatRef::new(&b, shape.n, shape.k).t()
        } else {
            MatRef::new(&b, shape.k, shape.n)
        };
        gemm(
            MatMut::new(&mut c, shape.m, shape.n),
            false,
            MatRef::new(&a, shape.m, shape.k),
            bm,
            1.0,
            Threads::Auto,
        );
    };
    run();
    let mut times = Vec::new();
    for _ in 0..iters.max(1) {
        let t = now_ms();
        run();
        times.push(now_ms() - t);
    }
    matmul_result("cpu", shape, times)
}

/// The median of per-product times as a result.
pub fn matmul_result(engine: &str, shape: &MatmulShape, mut times_ms: Vec<f64>) -> MatmulResult {
    times_ms.sort_by(f64::total_cmp);
    let ms = times_ms
        .get(times_ms.len() / 2)
        .copied()
        .unwrap_or(f64::NAN);
    MatmulResult {
        engine: engine.to_string(),
        shape: shape.clone(),
        iters: times_ms.len(),
        ms,
        gflops: shape.flops() / (ms * 1e-3) / 1e9,
    }
}
