//! `?bench=PRESET[&batch=1,8][&iters=3]`: times the CPU engine in this browser (single thread,
//! wasm SIMD128) with random weights and shows the result as JSON in `#bench-result`, for
//! `scripts/bench-wasm.sh`. It blocks the page while it runs: it is a measurement, not a view.

use leptos::prelude::*;

use crate::bench::bench_forward;
use crate::cpu::CpuEngine;
use crate::model::{init::init_params, CrateConfig, Model};

#[derive(Clone, Debug)]
pub struct BenchRequest {
    pub preset: String,
    pub batches: Vec<usize>,
    pub iters: usize,
}

impl BenchRequest {
    pub fn from_query(search: &str) -> Option<Self> {
        let mut req = BenchRequest {
            preset: String::new(),
            batches: vec![1],
            iters: 3,
        };
        for pair in search.trim_start_matches('?').split('&') {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            match k {
                "bench" => req.preset = v.to_string(),
                "batch" => {
                    req.batches = v
                        .split(',')
                        .filter_map(|b| b.parse().ok())
                        .filter(|&b| b > 0)
                        .collect()
                }
                "iters" => req.iters = v.parse().unwrap_or(3).clamp(1, 50),
                _ => {}
            }
        }
        (!req.preset.is_empty()).then_some(req)
    }
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
        let r = bench_forward(&mut engine, &cfg, b, req.iters, &now).map_err(|e| e.to_string())?;
        out.push(serde_json::json!({"preset": req.preset, "threads": 1, "simd128": cfg!(target_feature = "simd128"),
                                    "batch": r.batch, "iters": r.iters, "ms_per_image": r.ms_per_image,
                                    "ms_per_batch": r.ms_per_batch, "gflops": r.gflops, "engine": r.engine}));
    }
    Ok(serde_json::Value::Array(out).to_string())
}

#[component]
pub fn BenchPage(req: BenchRequest) -> impl IntoView {
    let (result, set_result) = signal(None::<Result<String, String>>);
    // Let the "running" text paint before the blocking measurement starts.
    set_timeout(
        move || set_result.set(Some(run(&req))),
        std::time::Duration::from_millis(50),
    );
    view! {
        <main>
            <h1>"CPU engine benchmark"</h1>
            {move || match result.get() {
                None => view! { <p>"running…"</p> }.into_any(),
                Some(Ok(json)) => view! { <pre id="bench-result">{json}</pre> }.into_any(),
                Some(Err(e)) => view! { <pre id="bench-result" class="error">{format!("{{\"error\": {:?}}}", e)}</pre> }.into_any(),
            }}
        </main>
    }
}
