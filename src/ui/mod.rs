//! The page (wasm only): Leptos components. `main.rs` only calls [`start`].

mod actions;
mod app;
mod attention_view;
mod bench_page;
mod chart;
mod controls;
mod explain;
mod inputs;
mod layers_view;
mod model_view;
mod picture;
mod runtime;
mod selftest_page;
mod state;
mod web;

use leptos::prelude::*;

/// Mounts the app, or the benchmark view (`?bench=PRESET`) or the self-test (`?selftest`).
pub fn start() {
    console_error_panic_hook::set_once();
    let search = web_sys::window()
        .and_then(|w| w.location().search().ok())
        .unwrap_or_default();
    if let Some(req) = bench_page::BenchRequest::from_query(&search) {
        mount_to_body(move || view! { <bench_page::BenchPage req=req.clone() /> });
        return;
    }
    let params: Vec<&str> = search.trim_start_matches('?').split('&').collect();
    if params.contains(&"selftest") {
        let gpu = params.contains(&"engine=gpu");
        mount_to_body(move || view! { <selftest_page::SelftestPage gpu=gpu /> });
        return;
    }
    mount_to_body(app::App);
}
