//! `?bench=PRESET[&batch=1,8][&iters=3][&engine=gpu]` ([`BenchRequest`]): times the CPU engine in this browser
//! (single thread, wasm SIMD128), or the WGSL engine on WebGPU, with random weights and shows the
//! result as JSON in `#bench-result`, for `scripts/bench-wasm.sh`. The CPU run blocks the page
//! while it runs: it is a measurement, not a view.

use leptos::prelude::*;

use crate::bench::bench_forward;
use crate::cpu::CpuEngine;
use crate::model::{init::init_params, CrateConfig, Model};
use crate::page::BenchRequest;

fn entry(
    req: &BenchRequest,
    r: &crate::bench::BenchResult,
    extra: serde_json::Value,
) -> serde_json::Value {
    let mut v = serde_json::json!({"preset": req.preset, "batch": r.batch, "iters": r.iters,
        "ms_per_image": r.ms_per_image, "ms_per_batch": r.ms_per_batch, "gflops": r.gflops, "engine": r.engine});
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
    let mut engine = GpuEngine::new(ctx, model).map_err(e)?;
    let perf = web_sys::window()
        .and_then(|w| w.performance())
        .ok_or("no performance clock")?;
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
        out.push(entry(req, &r, serde_json::json!({"backend": backend})));
    }
    Ok(serde_json::Value::Array(out).to_string())
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
