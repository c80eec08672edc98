//! The page's entry point: mounts the Leptos app. Built for wasm32 by trunk.

#[cfg(target_arch = "wasm32")]
fn main() {
    use leptos::prelude::*;

    console_error_panic_hook::set_once();
    mount_to_body(|| {
        view! {
            <main>
                <h1>"Whitebox"</h1>
                <p class="muted">"See inside CRATE, the white-box transformer."</p>
            </main>
        }
    });
}

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    eprintln!("whitebox-web is the page's entry point: build it with `trunk serve` (see README.md); the native tool is `whitebox`.");
    std::process::exit(2);
}
