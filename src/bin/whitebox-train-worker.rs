//! The page's Web Worker (built by trunk with `data-type="worker"`): training for the Train view
//! and the Lab, inference (`?role=infer`) for the other views; everything lives in
//! `whitebox::ui::train_worker_start`.

#[cfg(target_arch = "wasm32")]
fn main() {
    whitebox::ui::train_worker_start();
}

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    eprintln!("whitebox-train-worker is the page's training worker: trunk builds it for wasm32 (see README.md); the native tool is `whitebox`.");
    std::process::exit(2);
}
