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

/// Runs `run` once to warm up, then `iters` times (at least once) on the clock `now_ms`
/// (`Instant` natively, `performance.now()` on the web), calling `done` after every run (the
/// CLI's progress bar). Returns the timed runs' durations in ms.
pub fn time_runs<E>(
    iters: usize,
    now_ms: &dyn Fn() -> f64,
    done: &mut dyn FnMut(),
    mut run: impl FnMut() -> std::result::Result<(), E>,
) -> std::result::Result<Vec<f64>, E> {
    run()?;
    done();
    let mut times = Vec::with_capacity(iters.max(1));
    for _ in 0..iters.max(1) {
        let t = now_ms();
        run()?;
        times.push(now_ms() - t);
        done();
    }
    Ok(times)
}

/// Times `iters` forwards (after one warm-up) of a random batch at the config's input size and
/// reports the median; `done` is called after every forward.
pub fn bench_forward(
    engine: &mut dyn Engine,
    cfg: &CrateConfig,
    batch: usize,
    iters: usize,
    now_ms: &dyn Fn() -> f64,
    done: &mut dyn FnMut(),
) -> Result<BenchResult> {
    let x = bench_input(cfg, batch);
    let times = time_runs(iters, now_ms, done, || {
        engine.forward(&x, ForwardOptions::default()).map(drop)
    })?;
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

    /// The square product side³ (plain B), named "side^3".
    pub fn square(side: usize) -> Self {
        Self {
            name: format!("{side}^3"),
            m: side,
            n: side,
            k: side,
            trans_b: false,
        }
    }
}

/// 1024³ and the products of a CRATE forward ([`preset_matmul_shapes`]).
pub fn matmul_shapes(cfg: &CrateConfig, batch: usize) -> Vec<MatmulShape> {
    let mut v = vec![MatmulShape::square(1024)];
    v.extend(preset_matmul_shapes(cfg, batch));
    v
}

/// The products of a CRATE forward at the config's training size (crate-t: N = 197, d = 384,
/// P = 768), at batch 1 and `batch`: the patch embedding, the MSSA projection U and output
/// projection (F.linear, d×d) and ISTA's `y M` (plain; inference folds the dictionary into
/// `M = D - D^T D`).
pub fn preset_matmul_shapes(cfg: &CrateConfig, batch: usize) -> Vec<MatmulShape> {
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
    let mut v = Vec::new();
    for b in [1, batch] {
        let rows = b * (n + 1);
        v.push(s(format!("embed b{b}"), b * n, d, pl, true));
        v.push(s(format!("mssa U / to_out b{b}"), rows, d, d, true));
        v.push(s(format!("ista y M b{b}"), rows, d, d, false));
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

/// The CPU engine's GEMM on `shape`: median of `iters` timed products after one warm-up;
/// `done` is called after every product.
pub fn bench_matmul_cpu(
    shape: &MatmulShape,
    iters: usize,
    now_ms: &dyn Fn() -> f64,
    done: &mut dyn FnMut(),
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
    let times = time_runs(iters, now_ms, done, || {
        run();
        Ok::<(), std::convert::Infallible>(())
    });
    let Ok(times) = times;
    matmul_result("cpu", shape, times)
}

/// The WGSL matmul kernel on `shape` (the family and block `g` is set to): each timed
/// submission records several products (about 0.2 GFLOP, so that submission and read-back are
/// spread), after one warm-up submission; the median per product. Natively through
/// `pollster`, in the page as it is.
pub async fn bench_matmul_gpu(
    g: &mut crate::gpu::Gpu,
    shape: &MatmulShape,
    iters: usize,
    now_ms: &dyn Fn() -> f64,
    done: &mut dyn FnMut(),
) -> Result<MatmulResult> {
    use crate::gpu::matmul::{Matmul, MatmulParams};
    let s = shape;
    let a = g.upload(&crate::rng::uniform(1, "mm-a", s.m * s.k, 1.0));
    let b = g.upload(&crate::rng::uniform(2, "mm-b", s.n * s.k, 1.0));
    let c = g.alloc(s.m * s.n);
    let reps = ((2e8 / s.flops()).round() as usize).clamp(1, 64);
    let mut times = Vec::with_capacity(iters.max(1));
    for i in 0..=iters.max(1) {
        let t = now_ms();
        g.run(
            |rec| {
                for _ in 0..reps {
                    Matmul {
                        a: &a,
                        b: &b,
                        c: &c,
                        bias: None,
                        extra: None,
                        trans_b: s.trans_b,
                        relu: false,
                        batch: 1,
                        params: MatmulParams::dense(s.m, s.n, s.k, s.trans_b),
                    }
                    .record(rec);
                }
                Ok(())
            },
            &[(&c, 1)],
        )
        .await?;
        if i > 0 {
            times.push((now_ms() - t) / reps as f64);
        }
        done();
    }
    g.pool.release([a, b, c]);
    Ok(matmul_result("gpu", s, times))
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    #[test]
    fn time_runs_warms_up_then_times_each_run() {
        let clock = Cell::new(0.0);
        let now = || clock.get();
        let (mut runs, mut dones) = (0, 0);
        let times = time_runs(3, &now, &mut || dones += 1, || {
            runs += 1;
            // Run k takes k ms on the fake clock.
            clock.set(clock.get() + runs as f64);
            Ok::<(), ()>(())
        })
        .unwrap();
        assert_eq!(runs, 4, "one warm-up and three timed runs");
        assert_eq!(dones, 4);
        assert_eq!(times, vec![2.0, 3.0, 4.0]);
        // At least one timed run.
        let mut n = 0;
        let times = time_runs(0, &now, &mut || {}, || {
            n += 1;
            Ok::<(), ()>(())
        });
        assert_eq!((n, times.unwrap().len()), (2, 1));
    }

    #[test]
    fn an_error_stops_the_runs() {
        let mut n = 0;
        let r = time_runs(5, &|| 0.0, &mut || {}, || {
            n += 1;
            if n == 2 {
                Err("broke")
            } else {
                Ok(())
            }
        });
        assert_eq!((r, n), (Err("broke"), 2));
    }

    #[test]
    fn the_median_is_reported() {
        let cfg = CrateConfig::preset("crate-fmnist").unwrap();
        let r = summarise("cpu", &cfg, 2, vec![9.0, 1.0, 4.0]);
        assert_eq!((r.ms_per_batch, r.ms_per_image, r.iters), (4.0, 2.0, 3));
        let shape = &matmul_shapes(&cfg, 1)[0];
        let m = matmul_result("cpu", shape, vec![3.0, 1.0, 2.0, 10.0]);
        // An even count takes the upper middle.
        assert_eq!(m.ms, 3.0);
        assert!((m.gflops - 2.0 * 1024f64.powi(3) / 3e-3 / 1e9).abs() < 1e-9);
    }
}
