//! `?selftest[&engine=gpu]`: the fixed forward of [`crate::selftest`], shown as JSON in
//! `#selftest-result` for `scripts/wasm-selftest.sh` to compare with the native build. With
//! `engine=gpu` it runs on WebGPU through the WGSL engine.

use leptos::prelude::*;
use leptos::task::spawn_local;
use serde_json::{json, Value};

use crate::gpu::{GpuContext, GpuEngine};
use crate::selftest::{report, selftest_input, selftest_model, selftest_report, OPTS};

async fn gpu_report() -> crate::Result<Value> {
    let model = selftest_model()?;
    let cfg = model.config.clone();
    let ctx = GpuContext::new().await?;
    let adapter = format!("{} ({:?})", ctx.info.name, ctx.info.backend);
    let mut engine = GpuEngine::new(ctx, model)?;
    let out = engine.forward_async(&selftest_input(), OPTS).await?;
    let mut v = report(&cfg, &out, "gpu");
    v["adapter"] = json!(adapter);
    Ok(v)
}

#[component]
pub fn SelftestPage(gpu: bool) -> impl IntoView {
    let (text, set_text) = signal(None::<String>);
    let show = move |r: crate::Result<Value>| {
        set_text.set(Some(match r {
            Ok(v) => v.to_string(),
            Err(e) => json!({ "error": e.to_string() }).to_string(),
        }))
    };
    if gpu {
        spawn_local(async move { show(gpu_report().await) });
    } else {
        show(selftest_report());
    }
    view! {
        <main>
            <h1>{if gpu { "Self-test (WebGPU)" } else { "Self-test (CPU)" }}</h1>
            {move || match text.get() {
                None => view! { <p>"running…"</p> }.into_any(),
                Some(t) => view! { <pre id="selftest-result">{t}</pre> }.into_any(),
            }}
        </main>
    }
}
