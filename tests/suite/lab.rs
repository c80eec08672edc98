//! The Subspace lab (`analysis::lab`) against the independent NumPy/SciPy reference
//! `tools/lab_ref.py` (tests/fixtures/lab/*.json): the generated inputs bit for bit, then every
//! number of the report (idealised MSSA/ISTA layers, SNR, theory line, R^c, sparsity, scatter,
//! principal angles and matching, the coding-length curve) and the learned-CRATE recovery
//! measure to 1e-6 (relative above 1); and the CLI's `lab run --json` is the same report.

use crate::common::{cli, fixture};

use serde_json::Value;
use whitebox::analysis::lab::recover::PullbackWeights;
use whitebox::analysis::lab::{run_on, LabConfig, LabInputs};

const TOL: f64 = 1e-6;
const PRESETS: [&str; 5] = ["default", "random", "extra-heads", "sparse", "clustering"];

fn load(name: &str) -> Value {
    let path = fixture(&format!("lab/{name}.json"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    serde_json::from_str(&text).unwrap()
}

/// Compares `got` with `want` wherever `want` has a value; numbers to TOL (relative above 1).
fn close(path: &str, got: &Value, want: &Value) {
    match (got, want) {
        (Value::Number(g), Value::Number(w)) => {
            let (g, w) = (g.as_f64().unwrap(), w.as_f64().unwrap());
            assert!(
                (g - w).abs() <= TOL * w.abs().max(1.0),
                "{path}: {g} vs reference {w}"
            );
        }
        (Value::Array(g), Value::Array(w)) => {
            assert_eq!(g.len(), w.len(), "{path}: length");
            for (i, (a, b)) in g.iter().zip(w).enumerate() {
                close(&format!("{path}[{i}]"), a, b);
            }
        }
        (Value::Object(g), Value::Object(w)) => {
            for (k, b) in w {
                let a = g.get(k).unwrap_or_else(|| panic!("{path}.{k} missing"));
                close(&format!("{path}.{k}"), a, b);
            }
        }
        (g, w) => assert_eq!(g, w, "{path}"),
    }
}

fn expected_report(fx: &Value) -> Value {
    let mut want = fx["expected"].clone();
    want.as_object_mut().unwrap().remove("recovery");
    want
}

#[test]
fn lab_matches_the_numpy_reference() {
    for name in PRESETS {
        let fx = load(name);
        let cfg: LabConfig = serde_json::from_value(fx["config"].clone()).unwrap();
        assert_eq!(
            cfg,
            whitebox::analysis::lab::preset(name).unwrap(),
            "{name}: the preset changed since the fixture was written (rerun tools/lab_ref.py)"
        );
        let inputs: LabInputs = serde_json::from_value(fx["inputs"].clone()).unwrap();
        assert_eq!(LabInputs::generate(&cfg).unwrap(), inputs, "{name}: inputs");
        let report = serde_json::to_value(run_on(&cfg, &inputs).unwrap()).unwrap();
        close(name, &report, &expected_report(&fx));
    }
}

#[test]
fn recovery_measure_matches_scipy() {
    for name in ["default", "random"] {
        let fx = load(name);
        let cfg: LabConfig = serde_json::from_value(fx["config"].clone()).unwrap();
        let inputs: LabInputs = serde_json::from_value(fx["inputs"].clone()).unwrap();
        let w: PullbackWeights = serde_json::from_value(fx["pullback"].clone()).unwrap();
        let truth: Vec<Vec<f64>> = inputs
            .bases
            .iter()
            .map(|b| b.iter().map(|&v| v as f64).collect())
            .collect();
        let m = w.recovery(&truth, cfg.p).unwrap();
        close(
            &format!("{name}.recovery"),
            &serde_json::to_value(&m).unwrap(),
            &fx["expected"]["recovery"],
        );
    }
}

#[test]
fn cli_lab_run_prints_the_reference_report() {
    let out = cli::ok(&["lab", "run", "--preset", "sparse", "--json"]);
    let got: Value = serde_json::from_str(&out).unwrap();
    close("cli sparse", &got, &expected_report(&load("sparse")));
    // --set overrides a preset with the page's URL keys.
    let out = cli::ok(&[
        "lab", "run", "--preset", "default", "--set", "layers=2", "--json",
    ]);
    let got: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(got["snr"].as_array().unwrap().len(), 3);
    let err = cli::fails(&["lab", "run", "--set", "k=9"]);
    assert!(err.contains("K must be in 1..=8"), "{err}");
    let err = cli::fails(&["lab", "run", "--preset", "nope"]);
    assert!(err.contains("unknown lab preset"), "{err}");
}
