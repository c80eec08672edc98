//! The page's entry point: mounts the Leptos app. Built for wasm32 by trunk.

#[cfg(target_arch = "wasm32")]
fn main() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(|| leptos::view! { <p>"Whitebox"</p> });
}

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    eprintln!("whitebox-web is the page's entry point: build it with `trunk serve` (see README.md); the native tool is `whitebox`.");
    std::process::exit(2);
}
