//! The page (wasm only): Leptos components. `main.rs` only calls [`start`].

mod bench_page;
mod selftest_page;

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
    mount_to_body(|| {
        view! {
            <main>
                <h1>"Whitebox"</h1>
                <p class="muted">"See inside CRATE, the white-box transformer."</p>
            </main>
        }
    });
}
