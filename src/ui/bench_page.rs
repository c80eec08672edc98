//! `?bench=PRESET[&batch=1,8][&iters=3][&engine=gpu]` ([`BenchRequest`]): times the CPU engine in this browser
//! (single thread, wasm SIMD128), or the WGSL engine on WebGPU, with random weights and shows the
//! result as JSON in `#bench-result`, for `scripts/bench-wasm.sh`. The CPU run blocks the page
//! while it runs: it is a measurement, not a view. `&matmul=1` times single products instead
//! (1024³ and the preset's shapes, [`crate::bench::matmul_shapes`]); on WebGPU `&kernels=reg|tiled`
//! and `&block=8|16|32` force the kernel family and the register block, and `&subgroups=0` turns
//! the subgroup kernels off, for comparisons.

use leptos::prelude::*;

use crate::bench::{bench_forward, matmul_shapes};
use crate::cpu::CpuEngine;
use crate::model::{init::init_params, CrateConfig, Model};
use crate::page::BenchRequest;

fn entry(
    req: &BenchRequest,
    r: &crate::bench::BenchResult,
    extra: serde_json::Value,
) -> serde_json::Value {
    let v = serde_json::json!({"preset": req.preset, "batch": r.batch, "iters": r.iters,
        "ms_per_image": r.ms_per_image, "ms_per_batch": r.ms_per_batch, "gflops": r.gflops, "engine": r.engine});
    merged(v, &extra)
}

/// `v` with `extra`'s fields added.
fn merged(mut v: serde_json::Value, extra: &serde_json::Value) -> serde_json::Value {
    if let (Some(o), Some(e)) = (v.as_object_mut(), extra.as_object()) {
        o.extend(e.clone());
    }
    v
}

async fn run_gpu(req: &BenchRequest) -> Result<String, String> {
    use crate::bench::{bench_input, summarise};
    use crate::gpu::{GpuContext, GpuEngine};
    let e = |e: crate::Error| e.to_string();
    let cfg = CrateConfig::preset(&req.preset).map_err(e)?;
    let model = Model::new(cfg.clone(), init_params(&cfg, 0).map_err(e)?).map_err(e)?;
    let ctx = GpuContext::new().await.map_err(e)?;
    let backend = format!("{:?}", ctx.info.backend);
    let perf = web_sys::window()
        .and_then(|w| w.performance())
        .ok_or("no performance clock")?;
    if req.matmul {
        return run_gpu_matmul(req, &cfg, ctx, backend, &|| perf.now()).await;
    }
    let mut engine = GpuEngine::new(ctx, model).map_err(e)?;
    if let Some(reg) = req.reg_kernels {
        engine.set_cpu_adapter_kernels(reg);
    }
    if let Some(b) = req.block {
        engine.set_matmul_block(b);
    }
    engine.set_subgroup_kernels(req.subgroups);
    let subgroups = engine.subgroup_kernels();
    let mut out = Vec::new();
    for &b in &req.batches {
        let x = bench_input(&cfg, b);
        engine
            .forward_async(&x, Default::default())
            .await
            .map_err(e)?;
        let mut times = Vec::new();
        for _ in 0..req.iters {
            let t = perf.now();
            engine
                .forward_async(&x, Default::default())
                .await
                .map_err(e)?;
            times.push(perf.now() - t);
        }
        let r = summarise("gpu", &cfg, b, times);
        out.push(entry(
            req,
            &r,
            serde_json::json!({"backend": backend, "subgroups": subgroups}),
        ));
    }
    Ok(serde_json::Value::Array(out).to_string())
}

/// The products of [`crate::bench::matmul_shapes`] on the WGSL matmul.
async fn run_gpu_matmul(
    req: &BenchRequest,
    cfg: &CrateConfig,
    ctx: crate::gpu::GpuContext,
    backend: String,
    now: &dyn Fn() -> f64,
) -> Result<String, String> {
    let mut g = crate::gpu::Gpu::new(ctx);
    if let Some(reg) = req.reg_kernels {
        g.reg_kernels = reg;
    }
    if let Some(b) = req.block {
        g.reg_block = Some(b);
    }
    if !req.subgroups {
        g.subgroups = None;
    }
    let extra = serde_json::json!({"backend": backend, "reg_kernels": g.reg_kernels,
        "block": g.reg_block.map_or(serde_json::json!("auto"), |b| serde_json::json!(b)), "subgroups": g.subgroups});
    let mut out = Vec::new();
    for s in matmul_shapes(cfg, max_batch(req)) {
        let r = crate::bench::bench_matmul_gpu(&mut g, &s, req.iters, now, &mut || {})
            .await
            .map_err(|e| e.to_string())?;
        out.push(matmul_entry(&r, &extra));
    }
    Ok(serde_json::Value::Array(out).to_string())
}

/// The CPU engine's products on [`crate::bench::matmul_shapes`] (one thread in the page).
fn run_matmul(req: &BenchRequest, cfg: &CrateConfig, now: &dyn Fn() -> f64) -> String {
    let extra = serde_json::json!({"threads": 1, "simd128": cfg!(target_feature = "simd128")});
    let out: Vec<_> = matmul_shapes(cfg, max_batch(req))
        .iter()
        .map(|s| {
            let r = crate::bench::bench_matmul_cpu(s, req.iters, now, &mut || {});
            matmul_entry(&r, &extra)
        })
        .collect();
    serde_json::Value::Array(out).to_string()
}

fn max_batch(req: &BenchRequest) -> usize {
    req.batches.iter().copied().max().unwrap_or(1)
}

fn matmul_entry(r: &crate::bench::MatmulResult, extra: &serde_json::Value) -> serde_json::Value {
    merged(serde_json::to_value(r).unwrap_or_default(), extra)
}

fn run(req: &BenchRequest) -> Result<String, String> {
    let cfg = CrateConfig::preset(&req.preset).map_err(|e| e.to_string())?;
    let params = init_params(&cfg, 0).map_err(|e| e.to_string())?;
    let model = Model::new(cfg.clone(), params).map_err(|e| e.to_string())?;
    let mut engine = CpuEngine::new(model);
    let perf = web_sys::window()
        .and_then(|w| w.performance())
        .ok_or("no performance clock")?;
    let now = move || perf.now();
    if req.matmul {
        return Ok(run_matmul(req, &cfg, &now));
    }
    let mut out = Vec::new();
    for &b in &req.batches {
        let r = bench_forward(&mut engine, &cfg, b, req.iters, &now, &mut || {})
            .map_err(|e| e.to_string())?;
        out.push(entry(
            req,
            &r,
            serde_json::json!({"threads": 1, "simd128": cfg!(target_feature = "simd128")}),
        ));
    }
    Ok(serde_json::Value::Array(out).to_string())
}

#[component]
pub fn BenchPage(req: BenchRequest) -> impl IntoView {
    let (result, set_result) = signal(None::<Result<String, String>>);
    let title = if req.gpu {
        "WGSL engine benchmark (WebGPU)"
    } else {
        "CPU engine benchmark"
    };
    if req.gpu {
        leptos::task::spawn_local(async move { set_result.set(Some(run_gpu(&req).await)) });
    } else {
        // Let the "running" text paint before the blocking measurement starts.
        set_timeout(
            move || set_result.set(Some(run(&req))),
            std::time::Duration::from_millis(50),
        );
    }
    view! {
        <main>
            <h1>{title}</h1>
            {move || match result.get() {
                None => view! { <p>"running…"</p> }.into_any(),
                Some(Ok(json)) => view! { <pre id="bench-result">{json}</pre> }.into_any(),
                Some(Err(e)) => view! { <pre id="bench-result" class="error">{format!("{{\"error\": {:?}}}", e)}</pre> }.into_any(),
            }}
        </main>
    }
}
