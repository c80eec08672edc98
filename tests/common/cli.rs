//! Running the `whitebox` binary from a test.

use std::process::{Command, Output};

use serde_json::Value;

/// Runs `whitebox ARGS…` and returns what it printed and its status.
pub fn whitebox(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_whitebox"))
        .args(args)
        .output()
        .unwrap()
}

/// Runs `whitebox ARGS…`; returns whether it succeeded and what it printed (stdout, then stderr).
pub fn status_and_output(args: &[&str]) -> (bool, String) {
    let o = whitebox(args);
    (
        o.status.success(),
        String::from_utf8_lossy(&o.stdout).to_string() + &String::from_utf8_lossy(&o.stderr),
    )
}

/// Runs a command that must succeed; returns its stdout.
pub fn ok(args: &[&str]) -> String {
    let out = whitebox(args);
    assert!(
        out.status.success(),
        "{args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Runs a command that must fail; returns its stderr after checking it is a clean error.
pub fn fails(args: &[&str]) -> String {
    let out = whitebox(args);
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(!out.status.success(), "{args:?} should fail");
    assert!(!err.contains("panicked"), "{args:?} panicked: {err}");
    err
}

/// One JSON value per line (`--json` output, `metrics.jsonl`); names the line that does not parse.
pub fn json_lines(text: &str) -> Vec<Value> {
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not a JSON line ({e}): {l}")))
        .collect()
}
