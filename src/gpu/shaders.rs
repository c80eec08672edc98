//! Tests of the WGSL the wrappers embed (test-only module): the composition step's own tests
//! (`build/wgsl.rs`, which `build.rs` runs), naga validation of every composed shader (all
//! entry points), and each shader's uniform `Params` against its Rust `#[repr(C)]` mirror: the
//! same size, and the same offset and scalar type for every field not named `pad*`, so a field
//! added on one side only fails here rather than as garbage parameters on the GPU.
//!
//! Each wrapper module exports its mirror's layout with [`params_layout!`].

use std::collections::BTreeMap;

#[path = "../../build/wgsl.rs"]
mod wgsl;

/// A Rust mirror's layout: size and (name, offset, type name) per field.
pub(crate) struct Layout {
    pub name: &'static str,
    pub size: usize,
    pub fields: Vec<(&'static str, usize, &'static str)>,
}

/// The type name of a field, from an accessor (so the macro needs only field names).
pub(crate) fn kind<S, T: 'static>(_: fn(&S) -> &T) -> &'static str {
    std::any::type_name::<T>()
}

/// `params_layout!(Params, [a, b, pad])` defines `params_layout()`, the layout of `Params`.
/// The list must name every field (it is matched exhaustively, so a missing one does not
/// compile).
macro_rules! params_layout {
    ($ty:ident, [$($f:ident),* $(,)?]) => {
        pub(crate) fn params_layout() -> $crate::gpu::shaders::Layout {
            let _exhaustive = |p: $ty| {
                let $ty { $($f: _),* } = p;
            };
            $crate::gpu::shaders::Layout {
                name: stringify!($ty),
                size: ::std::mem::size_of::<$ty>(),
                fields: vec![$((
                    stringify!($f),
                    ::std::mem::offset_of!($ty, $f),
                    $crate::gpu::shaders::kind(|p: &$ty| &p.$f),
                )),*],
            }
        }
    };
}
pub(crate) use params_layout;

/// Every shader the wrappers embed: (file under `shaders/`, composed text, Rust mirror).
fn shaders() -> Vec<(&'static str, &'static str, Layout)> {
    use crate::gpu::backward as bw;
    use crate::gpu::{count, embed, gram, layernorm, matmul, mssa};
    vec![
        ("count.wgsl", count::SOURCE, count::params_layout()),
        ("embed.wgsl", embed::SOURCE, embed::params_layout()),
        ("gram.wgsl", gram::SOURCE, gram::params_layout()),
        (
            "layernorm.wgsl",
            layernorm::SOURCE,
            layernorm::params_layout(),
        ),
        ("matmul.wgsl", matmul::SOURCE, matmul::params_layout()),
        ("matmul_sg.wgsl", matmul::SOURCE_SG, matmul::params_layout()),
        ("mssa.wgsl", mssa::SOURCE, mssa::params_layout()),
        (
            "embed_backward.wgsl",
            bw::embed::SOURCE,
            bw::embed::params_layout(),
        ),
        (
            "head_backward.wgsl",
            bw::head::SOURCE,
            bw::head::params_layout(),
        ),
        (
            "ista_backward.wgsl",
            bw::ista::SOURCE,
            bw::ista::params_layout(),
        ),
        (
            "layernorm_backward.wgsl",
            bw::layernorm::SOURCE,
            bw::layernorm::params_layout(),
        ),
        ("loss.wgsl", bw::loss::SOURCE, bw::loss::params_layout()),
        (
            "matmul_backward.wgsl",
            bw::matmul::SOURCE,
            bw::matmul::params_layout(),
        ),
        (
            "matmul_backward_reg.wgsl",
            bw::matmul::REG_SOURCE,
            bw::matmul::params_layout(),
        ),
        (
            "mssa_backward_sg.wgsl",
            bw::mssa::SG_SOURCE,
            bw::mssa::params_layout(),
        ),
        (
            "matmul_backward_sg.wgsl",
            bw::matmul::REG_SG_SOURCE,
            bw::matmul::params_layout(),
        ),
        (
            "mssa_backward.wgsl",
            bw::mssa::SOURCE,
            bw::mssa::params_layout(),
        ),
        (
            "mssa_backward_reg.wgsl",
            bw::mssa::REG_SOURCE,
            bw::mssa::params_layout(),
        ),
        ("optim.wgsl", bw::optim::SOURCE, bw::optim::params_layout()),
    ]
}

fn parse(file: &str, src: &str) -> naga::Module {
    naga::front::wgsl::parse_str(src)
        .unwrap_or_else(|e| panic!("{}", e.emit_to_string_with_path(src, file)))
}

fn scalar_name(module: &naga::Module, ty: naga::Handle<naga::Type>) -> String {
    match &module.types[ty].inner {
        naga::TypeInner::Scalar(s) => match (s.kind, s.width) {
            (naga::ScalarKind::Uint, 4) => "u32".into(),
            (naga::ScalarKind::Sint, 4) => "i32".into(),
            (naga::ScalarKind::Float, 4) => "f32".into(),
            other => format!("{other:?}"),
        },
        other => format!("{other:?}"),
    }
}

/// The differences between the uniform struct of `src` and `rust`, one line each.
fn layout_mismatches(file: &str, src: &str, rust: &Layout) -> Vec<String> {
    let module = parse(file, src);
    let uniforms: Vec<_> = module
        .global_variables
        .iter()
        .filter(|(_, v)| v.space == naga::AddressSpace::Uniform)
        .collect();
    let [(_, var)] = uniforms.as_slice() else {
        return vec![format!(
            "{file}: expected one uniform, found {}",
            uniforms.len()
        )];
    };
    let ty = &module.types[var.ty];
    let naga::TypeInner::Struct { members, span } = &ty.inner else {
        return vec![format!("{file}: the uniform is not a struct")];
    };
    let wname = ty.name.clone().unwrap_or_default();
    let is_pad = |n: &str| n.starts_with("pad");
    let wgsl: BTreeMap<String, (usize, String)> = members
        .iter()
        .filter_map(|m| {
            let n = m.name.clone().unwrap_or_default();
            (!is_pad(&n)).then(|| (n, (m.offset as usize, scalar_name(&module, m.ty))))
        })
        .collect();
    let ours: BTreeMap<&str, (usize, &str)> = rust
        .fields
        .iter()
        .filter(|(n, _, _)| !is_pad(n))
        .map(|&(n, o, t)| (n, (o, t)))
        .collect();
    let mut out = Vec::new();
    let (w, r) = (format!("{file} `{wname}`"), format!("Rust `{}`", rust.name));
    if *span as usize != rust.size {
        out.push(format!("{w} is {span} bytes, {r} {} bytes", rust.size));
    }
    for (n, (o, t)) in &wgsl {
        match ours.get(n.as_str()) {
            None => out.push(format!(
                "{w} has `{n}: {t}` at offset {o}, {r} has no such field"
            )),
            Some(&(ro, rt)) if (ro, rt) != (*o, t.as_str()) => out.push(format!(
                "{w} has `{n}: {t}` at offset {o}, {r} has `{n}: {rt}` at offset {ro}"
            )),
            Some(_) => {}
        }
    }
    for (n, (o, t)) in &ours {
        if !wgsl.contains_key(*n) {
            out.push(format!(
                "{r} has `{n}: {t}` at offset {o}, {w} has no such field"
            ));
        }
    }
    out
}

#[test]
fn every_shader_is_listed() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("shaders");
    let mut on_disk: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".wgsl"))
        .collect();
    on_disk.sort();
    let mut listed: Vec<String> = shaders().iter().map(|s| s.0.to_string()).collect();
    listed.sort();
    assert_eq!(
        on_disk, listed,
        "a shader without an entry in gpu::shaders::shaders()"
    );
}

#[test]
fn composed_shaders_validate() {
    let mut failures = Vec::new();
    for (file, src, _) in shaders() {
        assert!(!src.contains("//!"), "{file}: a directive was left in");
        let module = parse(file, src);
        assert!(!module.entry_points.is_empty(), "{file}: no entry point");
        // The subgroup kernels need the capability the device is asked for where it has it.
        let caps = naga::valid::Capabilities::default() | naga::valid::Capabilities::SUBGROUP;
        let mut v = naga::valid::Validator::new(naga::valid::ValidationFlags::all(), caps);
        v.subgroup_stages(naga::valid::ShaderStages::COMPUTE)
            .subgroup_operations(naga::valid::SubgroupOperationSet::all());
        if let Err(e) = v.validate(&module) {
            failures.push(e.emit_to_string_with_path(src, file));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn params_match_rust_mirrors() {
    let failures: Vec<String> = shaders()
        .iter()
        .flat_map(|(file, src, rust)| layout_mismatches(file, src, rust))
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The check itself, on a small struct: matching layouts pass; a field on one side only, a
/// moved field, a changed type and a changed size are each reported.
#[test]
fn layout_check_reports_each_difference() {
    let wgsl = |body: &str| {
        format!("struct Params {{ {body} }}\n@group(0) @binding(0) var<uniform> p: Params;\n@compute @workgroup_size(1) fn main() {{ _ = p.a; }}\n")
    };
    let rust = |fields: Vec<(&'static str, usize, &'static str)>, size| Layout {
        name: "P",
        size,
        fields,
    };
    let base = vec![("a", 0, "u32"), ("b", 4, "f32"), ("pad", 8, "[u32; 2]")];
    let ok = layout_mismatches(
        "t.wgsl",
        &wgsl("a: u32, b: f32, pad0: u32, pad1: u32"),
        &rust(base.clone(), 16),
    );
    assert!(ok.is_empty(), "{ok:?}");
    let cases = [
        (
            "a: u32, b: f32, c: u32, pad0: u32",
            base.clone(),
            "t.wgsl `Params` has `c: u32` at offset 8, Rust `P` has no such field",
        ),
        (
            "a: u32, b: u32, pad0: u32, pad1: u32",
            base.clone(),
            "t.wgsl `Params` has `b: u32` at offset 4, Rust `P` has `b: f32` at offset 4",
        ),
        (
            "b: f32, a: u32, pad0: u32, pad1: u32",
            base.clone(),
            "t.wgsl `Params` has `a: u32` at offset 4, Rust `P` has `a: u32` at offset 0",
        ),
        (
            "a: u32, b: f32, pad0: u32, pad1: u32, pad2: u32",
            base.clone(),
            "t.wgsl `Params` is 20 bytes, Rust `P` 16 bytes",
        ),
    ];
    for (body, fields, want) in cases {
        let got = layout_mismatches("t.wgsl", &wgsl(body), &rust(fields, 16));
        assert!(got.iter().any(|g| g == want), "{body}: {got:?}");
    }
    let mut extra = base;
    extra[2] = ("c", 8, "u32");
    let got = layout_mismatches(
        "t.wgsl",
        &wgsl("a: u32, b: f32, pad0: u32, pad1: u32"),
        &rust(extra, 16),
    );
    assert_eq!(
        got,
        ["Rust `P` has `c: u32` at offset 8, t.wgsl `Params` has no such field"]
    );
}

/// The register-blocked matmuls are expanded from one template per block height; the host
/// dispatches them as 64 columns × 32 rows per workgroup (`Matmul::record`), so each must have
/// 8 invocations across (8 columns each) and 32 / ROWS down (the subgroup forms lay the same
/// invocations out in one dimension).
#[test]
fn matmul_blocks_cover_the_dispatch_tile() {
    let plain = parse("matmul.wgsl", crate::gpu::matmul::SOURCE);
    let sg = parse("matmul_sg.wgsl", crate::gpu::matmul::SOURCE_SG);
    // The subgroup forms lay the same 8 × (32 / ROWS) invocations out in one dimension.
    for (file, module, name, size) in [
        ("matmul.wgsl", &plain, "main_reg8", [8, 4, 1]),
        ("matmul.wgsl", &plain, "main_reg16", [8, 2, 1]),
        ("matmul.wgsl", &plain, "main_reg32", [8, 1, 1]),
        ("matmul_sg.wgsl", &sg, "main_sg8", [16, 1, 1]),
        ("matmul_sg.wgsl", &sg, "main_sg8_32", [8, 1, 1]),
    ] {
        let ep = module
            .entry_points
            .iter()
            .find(|e| e.name == name)
            .unwrap_or_else(|| panic!("{file} has no {name}"));
        assert_eq!(ep.workgroup_size, size, "{name}");
    }
}
