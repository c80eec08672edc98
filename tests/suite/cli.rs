//! The `whitebox` binary end to end: init → info → forward (text, JSON, dump) → convert, and the
//! errors a user sees for bad files and flags (clear messages, never a panic).

use crate::common;

use std::path::Path;
use std::process::Command;

use common::cli::{fails, json_lines, ok};
use common::{fixture, TempDir};
use serde_json::Value;

fn s(p: &Path) -> String {
    p.display().to_string()
}

#[test]
fn init_info_forward_convert_round_trip() {
    let t = TempDir::new("cli-flow");
    let w = t.path("m.safetensors");
    let out = ok(&["init", "--preset", "crate-c32", "--seed", "3", "-o", &w]);
    assert!(out.contains("parameters"), "{out}");

    let info = ok(&["info", &w]);
    assert!(
        info.contains("dim 192") && info.contains("heads 6") && info.contains("nothing assumed"),
        "{info}"
    );
    let cfg: Value = serde_json::from_str(&ok(&["info", "--json", &w])).unwrap();
    assert_eq!(cfg["image"], serde_json::json!([32, 32]));

    let img = s(&fixture("images/coffee_32.png"));
    let img2 = s(&fixture("images/chelsea_32.png"));
    let dump = t.path("trace.safetensors");
    let json = ok(&[
        "forward",
        "--weights",
        &w,
        "--image",
        &img,
        &img2,
        "--resize",
        "none",
        "--json",
        "--dump",
        &dump,
    ]);
    let lines = json_lines(&json);
    assert_eq!(lines.len(), 2);
    for v in &lines {
        assert_eq!(v["logits"].as_array().unwrap().len(), 10);
        assert_eq!(v["top5"].as_array().unwrap().len(), 5);
        let layers = v["layers"].as_array().unwrap();
        assert_eq!(layers.len(), 8);
        for l in layers {
            let sp = l["sparsity"].as_f64().unwrap();
            assert!(l["rc_in"].as_f64().unwrap() > 0.0 && l["rc_out"].as_f64().unwrap() > 0.0);
            assert!((0.0..=1.0).contains(&sp));
        }
        let att = v["attention_mean"].as_array().unwrap();
        assert_eq!(att.len(), 64);
        let sum: f64 = att.iter().map(|x| x.as_f64().unwrap()).sum();
        assert!(sum > 0.0 && sum < 1.0, "CLS mass on patches {sum}");
    }
    assert_ne!(lines[0]["logits"], lines[1]["logits"]);

    // The dump holds the documented tensors with batch-first shapes.
    let bytes = std::fs::read(&dump).unwrap();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    assert_eq!(st.tensor("attn.7").unwrap().shape(), &[2, 6, 65, 65]);
    assert_eq!(st.tensor("zout.0").unwrap().shape(), &[2, 65, 192]);
    assert_eq!(st.tensor("logits").unwrap().shape(), &[2, 10]);
    assert!(st.tensor("z.0").is_ok() && st.tensor("zhalf.3").is_ok());

    // The readable report.
    let text = ok(&[
        "forward",
        "--weights",
        &w,
        "--image",
        &img,
        "--resize",
        "stretch",
        "--size",
        "48x32",
    ]);
    assert!(
        text.contains("top-5") && text.contains("R^c in") && text.contains("48x32"),
        "{text}"
    );

    // convert: safetensors → safetensors keeps every value; a .pth converts too.
    let c = t.path("c.safetensors");
    ok(&["convert", &w, "-o", &c]);
    let a = whitebox::model::io::load_model(&std::fs::read(&w).unwrap(), "a", None).unwrap();
    let b = whitebox::model::io::load_model(&std::fs::read(&c).unwrap(), "b", None).unwrap();
    assert_eq!(a.model, b.model);
    let pth = s(&fixture("official/small32.pth"));
    let c2 = t.path("c2.safetensors");
    let err = fails(&["convert", &pth, "-o", &c2]);
    assert!(err.contains("--heads"), "{err}");
    ok(&["convert", &pth, "-o", &c2, "--heads", "4"]);
    let info = ok(&["info", &c2]);
    assert!(
        info.contains("heads 4") && info.contains("nothing assumed"),
        "{info}"
    );
}

/// `init --dim/--depth/--heads` reshapes a preset (the thin B/8-geometry model of
/// scripts/browser-b8.py); a width that does not split into the heads is refused.
#[test]
fn init_reshapes_the_preset() {
    let t = TempDir::new("cli-init-shape");
    let w = t.path("thin.safetensors");
    let args = [
        "init",
        "--preset",
        "crate-b8-demo",
        "--dim",
        "48",
        "--depth",
        "2",
        "--classes",
        "10",
        "-o",
        &w,
    ];
    ok(&args);
    let cfg: Value = serde_json::from_str(&ok(&["info", "--json", &w])).unwrap();
    assert_eq!(
        (&cfg["dim"], &cfg["depth"], &cfg["heads"], &cfg["patch"]),
        (
            &serde_json::json!(48),
            &serde_json::json!(2),
            &serde_json::json!(6),
            &serde_json::json!(8)
        ),
        "{cfg}"
    );
    let err = fails(&["init", "--preset", "crate-t", "--dim", "50", "-o", &w]);
    assert!(err.contains("not a multiple of heads 6"), "{err}");
}

#[test]
fn clear_errors_for_bad_input() {
    let t = TempDir::new("cli-errors");
    let w = t.path("m.safetensors");
    ok(&["init", "--preset", "crate-fmnist", "-o", &w]);

    let err = fails(&["info", &t.path("missing.safetensors")]);
    assert!(err.contains("missing.safetensors"), "{err}");

    let bytes = std::fs::read(&w).unwrap();
    let cut = t.path("cut.safetensors");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let err = fails(&["info", &cut]);
    assert!(err.contains("cut.safetensors"), "{err}");

    let junk = t.path("junk.png");
    std::fs::write(&junk, b"this is not an image").unwrap();
    let err = fails(&["forward", "--weights", &w, "--image", &junk]);
    assert!(
        err.contains("junk.png") && err.contains("not a supported image"),
        "{err}"
    );

    // --resize none needs sides that are multiples of the patch (4 here).
    let odd = t.path("odd.png");
    image::RgbImage::new(30, 30).save(&odd).unwrap();
    let err = fails(&[
        "forward",
        "--weights",
        &w,
        "--image",
        &odd,
        "--resize",
        "none",
    ]);
    assert!(err.contains("multiple of the patch"), "{err}");

    let err = fails(&[
        "forward",
        "--weights",
        &w,
        "--image",
        &odd,
        "--size",
        "29x28",
    ]);
    assert!(err.contains("patch"), "{err}");
    let err = fails(&[
        "forward",
        "--weights",
        &w,
        "--image",
        &odd,
        "--size",
        "100000x100000",
    ]);
    assert!(err.contains("limit"), "{err}");
    let err = fails(&["forward", "--weights", &w, "--image", &odd, "--size", "big"]);
    assert!(err.contains("HxW"), "{err}");
    let err = fails(&[
        "forward",
        "--weights",
        &w,
        "--image",
        &odd,
        "--resize",
        "squash",
    ]);
    assert!(err.contains("squash"), "{err}");
    let err = fails(&["init", "--preset", "crate-xl", "-o", &w]);
    assert!(err.contains("crate-t"), "{err}");
    let err = fails(&[
        "forward",
        "--weights",
        &w,
        "--image",
        &odd,
        "--resize",
        "none",
        "--engine",
        "gpu",
    ]);
    assert!(err.contains("multiple of the patch"), "{err}");

    // Mixed sizes cannot share one dump.
    let a = s(&fixture("images/coffee_32.png"));
    let b = s(&fixture("images/coffee_224.png"));
    let err = fails(&[
        "forward",
        "--weights",
        &w,
        "--image",
        &a,
        &b,
        "--resize",
        "none",
        "--dump",
        &t.path("d.safetensors"),
    ]);
    assert!(err.contains("--dump"), "{err}");
}

#[test]
fn help_explains_every_command() {
    let help = ok(&["--help"]);
    for cmd in ["info", "init", "convert", "forward", "bench"] {
        assert!(help.contains(cmd), "{help}");
    }
    let fwd = ok(&["forward", "--help"]);
    for flag in [
        "--weights",
        "--heads",
        "--image",
        "--resize",
        "--engine",
        "--json",
        "--dump",
    ] {
        assert!(fwd.contains(flag), "{fwd}");
    }
}

/// `forward --engine gpu` reports what `--engine cpu` does (logits, R^c, sparsity, attention)
/// within the GPU tolerance. Needs a wgpu adapter (lavapipe in CI); fails when there is none.
#[test]
fn forward_on_gpu_matches_cpu() {
    let t = TempDir::new("cli-gpu");
    let w = t.path("m.safetensors");
    ok(&["init", "--preset", "crate-c32", "--seed", "5", "-o", &w]);
    let img = s(&fixture("images/coffee_32.png"));
    let img2 = s(&fixture("images/chelsea_32.png"));
    let run = |engine: &str| -> Vec<Value> {
        json_lines(&ok(&[
            "forward",
            "--weights",
            &w,
            "--image",
            &img,
            &img2,
            "--resize",
            "none",
            "--json",
            "--engine",
            engine,
        ]))
    };
    let (cpu, gpu) = (run("cpu"), run("gpu"));
    assert_eq!(cpu.len(), 2);
    assert_eq!(gpu.len(), 2);
    fn nums(v: &Value, out: &mut Vec<f64>) {
        match v {
            Value::Number(n) => out.push(n.as_f64().unwrap()),
            Value::Array(a) => a.iter().for_each(|x| nums(x, out)),
            Value::Object(o) => o.values().for_each(|x| nums(x, out)),
            _ => {}
        }
    }
    for (c, g) in cpu.iter().zip(&gpu) {
        assert_eq!(g["engine"], "gpu");
        let classes = |v: &Value| -> Vec<Value> {
            v["top5"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["class"].clone())
                .collect()
        };
        assert_eq!(classes(c), classes(g));
        for key in ["logits", "top5", "layers", "attention_mean"] {
            let (mut a, mut b) = (Vec::new(), Vec::new());
            nums(&c[key], &mut a);
            nums(&g[key], &mut b);
            assert_eq!(a.len(), b.len(), "{key}");
            let scale = a.iter().fold(1e-12f64, |m, v| m.max(v.abs()));
            for (x, y) in a.iter().zip(&b) {
                assert!((x - y).abs() <= 1e-3 * scale, "{key}: cpu {x} vs gpu {y}");
            }
        }
    }
}

#[test]
fn bench_runs_on_gpu() {
    let out = ok(&[
        "bench",
        "--engine",
        "gpu",
        "--preset",
        "crate-fmnist",
        "--batch",
        "1,2",
        "--iters",
        "1",
        "--json",
    ]);
    let lines = json_lines(&out);
    assert_eq!(lines.len(), 2, "{out}");
}

/// `bench --matmul` times 1024³ and the preset's products on both engines (the GPU's through the
/// same async path as the page's `?bench=…&matmul=1`), one JSON line each.
#[test]
fn bench_matmul_runs_on_both_engines() {
    for engine in ["cpu", "gpu"] {
        let bench = |squares: &[&str]| {
            let mut args = vec!["bench", "--matmul", "--engine", engine, "--preset"];
            args.extend(["crate-fmnist", "--batch", "1", "--iters", "1", "--json"]);
            args.extend(squares);
            let out = ok(&args);
            (json_lines(&out), out)
        };
        let (lines, out) = bench(&[]);
        // 1024³, then the embedding, MSSA and ISTA products at batch 1.
        assert_eq!(lines.len(), 4, "{out}");
        assert_eq!(lines[0]["name"], "1024^3");
        for l in &lines {
            assert_eq!(l["engine"], engine, "{l}");
            assert!(l["gflops"].as_f64().unwrap() > 0.0, "{l}");
        }
        // --matmul-size replaces 1024³ with the squares asked for, in order, each once.
        let (lines, out) = bench(&["--matmul-size", "64,96,64"]);
        assert_eq!(lines.len(), 5, "{out}");
        for (l, side) in lines.iter().zip([64, 96]) {
            assert_eq!(l["name"], format!("{side}^3"), "{l}");
            assert_eq!(
                (&l["m"], &l["n"], &l["k"]),
                (&side.into(), &side.into(), &side.into())
            );
        }
        assert_eq!(lines[2]["name"], "crate-fmnist embed b1");
    }
}

/// `WHITEBOX_ADAPTER` picks an adapter by name; one that matches nothing is a clear error that
/// lists what was found.
#[test]
fn gpu_adapter_env_var_is_honoured() {
    let out = Command::new(env!("CARGO_BIN_EXE_whitebox"))
        .args([
            "bench",
            "--engine",
            "gpu",
            "--preset",
            "crate-fmnist",
            "--batch",
            "1",
            "--iters",
            "1",
        ])
        .env("WHITEBOX_ADAPTER", "no-such-gpu")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(!err.contains("panicked"), "{err}");
    assert!(
        err.contains("WHITEBOX_ADAPTER=no-such-gpu") && err.contains("found:"),
        "{err}"
    );
    let out = Command::new(env!("CARGO_BIN_EXE_whitebox"))
        .args([
            "bench",
            "--engine",
            "gpu",
            "--preset",
            "crate-fmnist",
            "--batch",
            "1",
            "--iters",
            "1",
        ])
        // Case-insensitive; lavapipe in CI (an empty value would match any adapter).
        .env("WHITEBOX_ADAPTER", "LLVMPIPE")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
