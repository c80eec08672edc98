//! The WGSL composition step run by `build.rs`: each top-level `shaders/NAME.wgsl` is expanded
//! into `$OUT_DIR/NAME.wgsl`, which the Rust wrappers embed. Directives are WGSL line comments,
//! so the sources stay readable as they are:
//!
//! - `//! include common/FILE.wgsl` pastes a file once per output (a second include of the same
//!   file, directly or through another file, adds nothing), so shared declarations can be
//!   included by every piece that needs them.
//! - `//! expand common/FILE.wgsl KEY=VALUE ...` pastes a template every time, with `${KEY}`
//!   replaced by VALUE (one register-blocked kernel per ROWS, for instance).
//! - `//! for i in A..B` ... `//! end` repeats the lines between for i = A, ..., B - 1 with
//!   `${i}` replaced (the generator's loop unrolling; bounds may be `${KEY}`s).
//!
//! In the output a directive becomes a plain comment (`// include common/FILE.wgsl`) and the
//! comment lines of pasted files are left out (they are written for the source's reader; the
//! embedded text stays small). Paths are relative to the shaders folder. A missing file, an unknown `${NAME}`, an unknown
//! directive or an unclosed `for` is an error naming the file and line. WGSL never uses `$`,
//! so any `$` in a source is a placeholder. Build-time only: nothing here reaches the binary.
//!
//! `build.rs` includes this file with `#[path]`; `src/gpu/shaders.rs` (test only) does the same
//! to run the tests at the bottom.

use std::collections::{BTreeMap, HashSet};
use std::fmt;

/// A composition error, with the file and 1-based line where it arose.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComposeError {
    pub file: String,
    pub line: usize,
    pub message: String,
}

impl fmt::Display for ComposeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "shaders/{}:{}: {}", self.file, self.line, self.message)
    }
}

impl std::error::Error for ComposeError {}

type Params = BTreeMap<String, String>;

/// Expands `root` (a path relative to the shaders folder) with `load` reading sources by path.
pub fn compose(root: &str, load: &dyn Fn(&str) -> Option<String>) -> Result<String, ComposeError> {
    let mut c = Composer {
        load,
        included: HashSet::new(),
        out: String::new(),
    };
    let src = c.read(root, root, 0)?;
    c.included.insert(root.to_string());
    c.emit(root, &src, &Params::new(), true)?;
    Ok(c.out)
}

struct Composer<'a> {
    load: &'a dyn Fn(&str) -> Option<String>,
    included: HashSet<String>,
    out: String,
}

fn err(file: &str, line: usize, message: impl Into<String>) -> ComposeError {
    ComposeError {
        file: file.to_string(),
        line,
        message: message.into(),
    }
}

impl Composer<'_> {
    fn read(&self, path: &str, from: &str, line: usize) -> Result<String, ComposeError> {
        (self.load)(path).ok_or_else(|| {
            err(
                from,
                line,
                format!("cannot read included file shaders/{path}"),
            )
        })
    }

    /// Emits the source of `file` with `params` bound, without its comment lines unless
    /// `comments`.
    fn emit(
        &mut self,
        file: &str,
        src: &str,
        params: &Params,
        comments: bool,
    ) -> Result<(), ComposeError> {
        let lines: Vec<&str> = src.lines().collect();
        self.emit_lines(file, &lines, 0, params, comments)
    }

    /// Emits `lines` (starting at 0-based line `first` of `file`).
    fn emit_lines(
        &mut self,
        file: &str,
        lines: &[&str],
        first: usize,
        params: &Params,
        comments: bool,
    ) -> Result<(), ComposeError> {
        let mut i = 0;
        while i < lines.len() {
            let no = first + i + 1;
            let line = lines[i].trim_start();
            let Some(directive) = line.strip_prefix("//!") else {
                if comments || !line.starts_with("//") {
                    self.out.push_str(&substitute(lines[i], params, file, no)?);
                    self.out.push('\n');
                }
                i += 1;
                continue;
            };
            let directive = substitute(directive, params, file, no)?;
            let words: Vec<&str> = directive.split_whitespace().collect();
            match words.as_slice() {
                ["include", path] => {
                    if self.included.insert(path.to_string()) {
                        let src = self.read(path, file, no)?;
                        self.out.push_str(&format!("//{directive}\n"));
                        self.emit(path, &src, &Params::new(), false)?;
                    }
                    i += 1;
                }
                ["expand", path, kv @ ..] => {
                    let mut bound = Params::new();
                    for pair in kv {
                        let (k, v) = pair.split_once('=').ok_or_else(|| {
                            err(file, no, format!("expected KEY=VALUE, found `{pair}`"))
                        })?;
                        bound.insert(k.to_string(), v.to_string());
                    }
                    let src = self.read(path, file, no)?;
                    self.out.push_str(&format!("//{directive}\n"));
                    self.emit(path, &src, &bound, false)?;
                    i += 1;
                }
                ["for", var, "in", range] => {
                    let (a, b) = range
                        .split_once("..")
                        .and_then(|(a, b)| Some((a.parse::<i64>().ok()?, b.parse::<i64>().ok()?)))
                        .ok_or_else(|| {
                            err(file, no, format!("expected a range A..B, found `{range}`"))
                        })?;
                    let end = matching_end(lines, i)
                        .ok_or_else(|| err(file, no, "`for` without a matching `//! end`"))?;
                    let body = &lines[i + 1..end];
                    for v in a..b {
                        let mut inner = params.clone();
                        inner.insert(var.to_string(), v.to_string());
                        self.emit_lines(file, body, first + i + 1, &inner, comments)?;
                    }
                    i = end + 1;
                }
                ["end"] => return Err(err(file, no, "`//! end` without a `for`")),
                _ => {
                    return Err(err(
                        file,
                        no,
                        format!("unknown directive `//!{directive}` (include, expand, for, end)"),
                    ))
                }
            }
        }
        Ok(())
    }
}

/// The index of the `//! end` closing the `for` at `start`, counting nested `for`s.
fn matching_end(lines: &[&str], start: usize) -> Option<usize> {
    let mut depth = 0;
    for (j, l) in lines.iter().enumerate().skip(start) {
        let d = l.trim_start().strip_prefix("//!").map(str::trim_start);
        match d {
            Some(d) if d.starts_with("for ") => depth += 1,
            Some(d) if d.trim_end() == "end" => {
                depth -= 1;
                if depth == 0 {
                    return Some(j);
                }
            }
            _ => {}
        }
    }
    None
}

/// Replaces every `${NAME}` in `line` by its value.
fn substitute(line: &str, params: &Params, file: &str, no: usize) -> Result<String, ComposeError> {
    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let tail = &rest[at + 1..];
        let name = tail
            .strip_prefix('{')
            .and_then(|t| t.split_once('}'))
            .map(|(name, _)| name)
            .ok_or_else(|| err(file, no, "`$` must start a `${NAME}` placeholder"))?;
        let value = params
            .get(name)
            .ok_or_else(|| err(file, no, format!("unknown placeholder `${{{name}}}`")))?;
        out.push_str(value);
        rest = &tail[name.len() + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn run(files: &[(&str, &str)], root: &str) -> Result<String, ComposeError> {
        let map: HashMap<String, String> = files
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        compose(root, &|p| map.get(p).cloned())
    }

    #[test]
    fn plain_source_is_unchanged() {
        let src = "struct P { a: u32, }\n\nfn f() -> u32 { return 1u; }\n";
        assert_eq!(run(&[("k.wgsl", src)], "k.wgsl").unwrap(), src);
    }

    #[test]
    fn include_pastes_once() {
        let files = [
            (
                "k.wgsl",
                "//! include common/a.wgsl\n//! include common/b.wgsl\nfn k() {}\n",
            ),
            ("common/a.wgsl", "//! include common/b.wgsl\nfn a() {}\n"),
            ("common/b.wgsl", "fn b() {}\n"),
        ];
        assert_eq!(
            run(&files, "k.wgsl").unwrap(),
            "// include common/a.wgsl\n// include common/b.wgsl\nfn b() {}\nfn a() {}\nfn k() {}\n"
        );
    }

    #[test]
    fn include_cycle_terminates() {
        let files = [
            ("k.wgsl", "//! include common/a.wgsl\nfn k() {}\n"),
            ("common/a.wgsl", "//! include k.wgsl\nfn a() {}\n"),
        ];
        assert_eq!(
            run(&files, "k.wgsl").unwrap(),
            "// include common/a.wgsl\nfn a() {}\nfn k() {}\n"
        );
    }

    #[test]
    fn missing_include_names_file_and_line() {
        let files = [("k.wgsl", "fn k() {}\n  //! include common/nope.wgsl\n")];
        let e = run(&files, "k.wgsl").unwrap_err();
        assert_eq!(
            e.to_string(),
            "shaders/k.wgsl:2: cannot read included file shaders/common/nope.wgsl"
        );
    }

    #[test]
    fn expand_substitutes_and_repeats() {
        let files = [
            (
                "k.wgsl",
                "//! expand common/t.wgsl NAME=f8 N=2\n//! expand common/t.wgsl NAME=f16 N=3\n",
            ),
            (
                "common/t.wgsl",
                "// ${NAME}: doc\nfn ${NAME}() {\n//! for i in 0..${N}\n    let x${i} = ${i}u;\n//! end\n}\n",
            ),
        ];
        assert_eq!(
            run(&files, "k.wgsl").unwrap(),
            "// expand common/t.wgsl NAME=f8 N=2\nfn f8() {\n    let x0 = 0u;\n    let x1 = 1u;\n}\n\
             // expand common/t.wgsl NAME=f16 N=3\nfn f16() {\n    let x0 = 0u;\n    let x1 = 1u;\n    let x2 = 2u;\n}\n"
        );
    }

    #[test]
    fn comments_kept_in_the_root_only() {
        let files = [
            (
                "k.wgsl",
                "// k\n//! include common/a.wgsl\nlet k = 1; // k\n",
            ),
            ("common/a.wgsl", "// a\n  // a\nlet a = 1; // a\n"),
        ];
        assert_eq!(
            run(&files, "k.wgsl").unwrap(),
            "// k\n// include common/a.wgsl\nlet a = 1; // a\nlet k = 1; // k\n"
        );
    }

    #[test]
    fn nested_for_loops() {
        let src = "//! for i in 0..2\n//! for j in 1..3\na${i}${j}\n//! end\nb${i}\n//! end\n";
        assert_eq!(
            run(&[("k.wgsl", src)], "k.wgsl").unwrap(),
            "a01\na02\nb0\na11\na12\nb1\n"
        );
    }

    #[test]
    fn errors_name_the_line() {
        let cases = [
            ("x\n${N}\n", "shaders/k.wgsl:2: unknown placeholder `${N}`"),
            ("a $ b\n", "shaders/k.wgsl:1: `$` must start a `${NAME}` placeholder"),
            (
                "//! for i in 0..2\nx\n",
                "shaders/k.wgsl:1: `for` without a matching `//! end`",
            ),
            ("//! end\n", "shaders/k.wgsl:1: `//! end` without a `for`"),
            (
                "//! for i in 0..n\n//! end\n",
                "shaders/k.wgsl:1: expected a range A..B, found `0..n`",
            ),
            (
                "y\n//! inclde common/a.wgsl\n",
                "shaders/k.wgsl:2: unknown directive `//! inclde common/a.wgsl` (include, expand, for, end)",
            ),
            (
                "//! expand common/t.wgsl N\n",
                "shaders/k.wgsl:1: expected KEY=VALUE, found `N`",
            ),
        ];
        for (src, msg) in cases {
            let e = run(&[("k.wgsl", src)], "k.wgsl").unwrap_err();
            assert_eq!(e.to_string(), msg, "source {src:?}");
        }
    }

    #[test]
    fn error_inside_template_names_the_template() {
        let files = [
            ("k.wgsl", "//! expand common/t.wgsl\n"),
            ("common/t.wgsl", "ok\n  ${ROWS}\n"),
        ];
        let e = run(&files, "k.wgsl").unwrap_err();
        assert_eq!(
            e.to_string(),
            "shaders/common/t.wgsl:2: unknown placeholder `${ROWS}`"
        );
    }
}
