//! `?selftest`: the fixed forward of [`crate::selftest`], shown as JSON in `#selftest-result`
//! for `scripts/wasm-selftest.sh` to compare with the native build.

use leptos::prelude::*;

#[component]
pub fn SelftestPage() -> impl IntoView {
    let text = match crate::selftest::selftest_report() {
        Ok(v) => v.to_string(),
        Err(e) => serde_json::json!({ "error": e.to_string() }).to_string(),
    };
    view! {
        <main>
            <h1>"Self-test"</h1>
            <pre id="selftest-result">{text}</pre>
        </main>
    }
}
