//! The page's entry point. Built for wasm32 by trunk; everything lives in `whitebox::ui`.

#[cfg(target_arch = "wasm32")]
fn main() {
    whitebox::ui::start();
}

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    eprintln!("whitebox-web is the page's entry point: build it with `trunk serve` (see README.md); the native tool is `whitebox`.");
    std::process::exit(2);
}
