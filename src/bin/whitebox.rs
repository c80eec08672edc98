//! The `whitebox` command-line tool (native only).

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    println!("whitebox");
}

#[cfg(target_arch = "wasm32")]
fn main() {}
