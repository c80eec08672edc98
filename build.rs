//! Composes every top-level `shaders/*.wgsl` into `$OUT_DIR/*.wgsl` (see `build/wgsl.rs` for
//! the directives); the GPU wrappers embed the composed text with `include_str!`.

#[path = "build/wgsl.rs"]
mod wgsl;

use std::path::Path;

fn main() {
    let out = std::env::var("OUT_DIR").expect("cargo sets OUT_DIR");
    let root = Path::new("shaders");
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=build/wgsl.rs");
    // A directory is scanned recursively: new or edited shared files rerun the step too.
    println!("cargo:rerun-if-changed=shaders");
    let mut names: Vec<String> = std::fs::read_dir(root)
        .expect("shaders/ is readable")
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().map(|t| t.is_file()).unwrap_or(false))
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| n.ends_with(".wgsl"))
        .collect();
    names.sort();
    let load = |p: &str| std::fs::read_to_string(root.join(p)).ok();
    for name in names {
        match wgsl::compose(&name, &load) {
            Ok(text) => {
                let banner = format!(
                    "// Composed by build.rs from shaders/{name} and the files it includes; \
                     edit those.\n"
                );
                std::fs::write(Path::new(&out).join(&name), banner + &text)
                    .expect("OUT_DIR is writable");
            }
            Err(e) => {
                eprintln!("error: {e}");
                std::process::exit(1);
            }
        }
    }
}
