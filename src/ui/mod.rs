//! The page (wasm only): Leptos components and the browser glue. What the page decides lives
//! in [`crate::page`] (native, unit-tested); `main.rs` only calls [`start`].

mod actions;
mod app;
mod attention_view;
mod bench_page;
mod chart;
mod chart_frame;
mod controls;
mod deferred;
mod draw_pad;
mod explain;
mod infer;
mod inputs;
mod lab;
mod lab_view;
mod layers_view;
mod light;
mod model_view;
mod official_panel;
mod picture;
pub mod plots;
mod runtime;
mod selftest_page;
mod state;
mod subspaces;
mod subspaces_view;
mod train;
mod train_view;
mod web;

use leptos::prelude::*;

/// The page's worker binary's entry point (`src/bin/whitebox-train-worker.rs`): the inference
/// worker when started with `?role=infer` ([`infer::client`]), the training worker otherwise.
pub fn train_worker_start() {
    let search = js_sys::Reflect::get(&js_sys::global(), &"location".into())
        .and_then(|l| js_sys::Reflect::get(&l, &"search".into()))
        .ok()
        .and_then(|s| s.as_string())
        .unwrap_or_default();
    if search.contains("role=infer") {
        infer::worker::start();
    } else if search.contains("role=grad") {
        train::helper::start();
    } else {
        train::worker::start();
    }
}

/// Mounts the app, or the benchmark view (`?bench=PRESET`) or the self-test (`?selftest`).
pub fn start() {
    console_error_panic_hook::set_once();
    let search = web_sys::window()
        .and_then(|w| w.location().search().ok())
        .unwrap_or_default();
    match crate::page::Route::from_query(&search) {
        crate::page::Route::Bench(req) => {
            mount_to_body(move || view! { <bench_page::BenchPage req=req.clone() /> })
        }
        crate::page::Route::Selftest { gpu } => {
            mount_to_body(move || view! { <selftest_page::SelftestPage gpu=gpu /> })
        }
        crate::page::Route::App => mount_to_body(app::App),
    }
}
