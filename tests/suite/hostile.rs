//! Hostile files and flags (issue 14): every case is generated here at test time (no committed
//! blobs), run through the `whitebox` binary as a child process, and must end with an error
//! message naming the file (or the flag and its allowed range), a non-zero exit that is neither
//! a panic (101) nor a signal (abort, out of memory), and a peak resident set under 1 GiB
//! (measured by GNU time, under a 4 GiB address-space cap that only protects the machine).
//!
//! `HOSTILE_BIN=/path/to/whitebox` runs the same cases against another build (the table of
//! outcomes is printed either way; `--nocapture` shows it), `HOSTILE_ONLY=substring` picks cases.

#![cfg(target_os = "linux")]

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use whitebox::model::init::init_params;
use whitebox::model::io::{model_to_safetensors, read_safetensors, write_tensors, CONFIG_KEY};
use whitebox::{CrateConfig, Model, Tensor};

use crate::common::hostile_images::{
    bmp_rle, gif_screen, jpeg_claiming, jpeg_gray, png_gray, webp_uniform,
};

const PEAK_LIMIT_KIB: i64 = 1 << 20;
/// Address-space cap of each child: far above the asserted peak, it only keeps a regression from
/// taking the machine down.
const AS_CAP_KIB: u64 = 4 << 20;

#[repr(C)]
struct Timeval {
    sec: i64,
    usec: i64,
}

#[repr(C)]
struct Rusage {
    utime: Timeval,
    stime: Timeval,
    maxrss: i64,
    rest: [i64; 13],
}

extern "C" {
    fn wait4(pid: i32, status: *mut i32, options: i32, rusage: *mut Rusage) -> i32;
}

struct Outcome {
    code: Option<i32>,
    signal: Option<i32>,
    peak_kib: i64,
    stderr: String,
}

fn bin() -> PathBuf {
    std::env::var_os("HOSTILE_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_whitebox")))
}

/// GNU time measures the peak of the process it forks. `wait4` on our own child would also count
/// this test process's memory: a child inherits its parent's high-water mark up to its `exec`.
const TIME: &str = "/usr/bin/time";

// The child is reaped by `wait4` below (for its status and usage), not by `Child::wait`.
#[allow(clippy::zombie_processes)]
fn run_capped(dir: &Path, args: &[OsString], cap: bool) -> Outcome {
    let peak_file = dir.join("child.peak");
    let _ = std::fs::remove_file(&peak_file);
    let timed = Path::new(TIME).exists();
    let time = if timed {
        format!("{TIME} -f %M -o {} ", peak_file.display())
    } else {
        String::new()
    };
    let limit = if cap {
        format!("ulimit -v {AS_CAP_KIB} && ")
    } else {
        String::new()
    };
    let script = format!("{limit}exec {time}timeout -s KILL 300 \"$@\"");
    let out = dir.join("child.out");
    let err = dir.join("child.err");
    let child = Command::new("sh")
        .arg("-c")
        .arg(script)
        .arg("sh")
        .arg(bin())
        .args(args)
        .current_dir(dir)
        .env("RAYON_NUM_THREADS", "2")
        .env("MALLOC_ARENA_MAX", "2")
        .env("RUST_BACKTRACE", "0")
        .stdin(Stdio::null())
        .stdout(File::create(&out).unwrap())
        .stderr(File::create(&err).unwrap())
        .spawn()
        .expect("spawn whitebox");
    let mut status = 0i32;
    let mut ru: Rusage = unsafe { std::mem::zeroed() };
    // SAFETY: plain syscall on our own child; `status` and `ru` are valid for writes.
    let r = unsafe { wait4(child.id() as i32, &mut status, 0, &mut ru) };
    assert_eq!(r, child.id() as i32, "wait4 failed");
    // Through `time` and `timeout`, a child killed by signal N shows as exit 128 + N.
    let (code, signal) = match (status & 0x7f, (status >> 8) & 0xff) {
        (0, c) if c > 128 => (None, Some(c - 128)),
        (0, c) => (Some(c), None),
        (s, _) => (None, Some(s)),
    };
    let stderr = std::fs::read_to_string(&err).unwrap_or_default();
    // Without GNU time, wait4's figure is an upper bound (it includes this process's peak).
    let peak_kib = if timed {
        std::fs::read_to_string(&peak_file)
            .ok()
            .and_then(|s| s.lines().last().and_then(|l| l.trim().parse().ok()))
            .expect("GNU time wrote no peak")
    } else {
        ru.maxrss
    };
    Outcome {
        code,
        signal,
        peak_kib,
        stderr,
    }
}

/// What a case's message must contain.
struct Case {
    name: &'static str,
    args: Vec<OsString>,
    /// Substrings that must all appear in stderr (the file name, the flag, the limit...).
    mention: Vec<String>,
    /// Run without the address-space cap (the GPU driver maps a lot of address space).
    uncapped: bool,
}

fn os(v: &[&str]) -> Vec<OsString> {
    v.iter().map(OsString::from).collect()
}

fn case(name: &'static str, args: Vec<OsString>, mention: &[&str]) -> Case {
    Case {
        name,
        args,
        mention: mention.iter().map(|s| s.to_string()).collect(),
        uncapped: false,
    }
}

// ---------------------------------------------------------------------------------------------
// Generators

fn tiny_config() -> CrateConfig {
    let mut c = CrateConfig::preset("crate-fmnist").unwrap();
    c.dim = 16;
    c.heads = 2;
    c.depth = 1;
    c.classes = 3;
    c.class_names = None;
    c
}

fn model_bytes(cfg: &CrateConfig) -> Vec<u8> {
    let p = init_params(cfg, 1).unwrap();
    model_to_safetensors(&Model::new(cfg.clone(), p).unwrap()).unwrap()
}

/// A safetensors model whose config metadata is edited by `f`.
fn with_config(bytes: &[u8], f: impl Fn(&mut serde_json::Value)) -> Vec<u8> {
    let st = read_safetensors(bytes, "x").unwrap();
    let mut cfg: serde_json::Value = serde_json::from_str(&st.metadata[CONFIG_KEY]).unwrap();
    f(&mut cfg);
    let mut meta = st.metadata.clone();
    meta.insert(CONFIG_KEY.to_string(), cfg.to_string());
    write_tensors(&st.tensors, &meta).unwrap()
}

/// A safetensors file with every value replaced by ±`k` (its sign kept): finite, but products
/// of two of them overflow float32.
fn huge(bytes: &[u8], k: f32) -> Vec<u8> {
    let st = read_safetensors(bytes, "x").unwrap();
    let t: BTreeMap<String, Tensor> = st
        .tensors
        .into_iter()
        .map(|(n, mut t)| {
            t.data.iter_mut().for_each(|x| *x = k.copysign(*x));
            (n, t)
        })
        .collect();
    write_tensors(&t, &st.metadata).unwrap()
}

/// Two grid sides a, b < 2^62 whose product wraps to 49 modulo 2^64.
fn wrapping_grid() -> (u64, u64) {
    let mut a: u64 = (1 << 40) + 1;
    loop {
        let mut inv = a;
        for _ in 0..6 {
            inv = inv.wrapping_mul(2u64.wrapping_sub(a.wrapping_mul(inv)));
        }
        let b = 49u64.wrapping_mul(inv);
        if b < (1 << 62) {
            assert_eq!(a.wrapping_mul(b), 49);
            return (a, b);
        }
        a += 2;
    }
}

/// A hand-written pickle.
#[derive(Default)]
struct Pkl(Vec<u8>);

impl Pkl {
    fn op(&mut self, b: &[u8]) -> &mut Self {
        self.0.extend_from_slice(b);
        self
    }
    fn str(&mut self, s: &str) -> &mut Self {
        self.0.push(b'X');
        self.0.extend_from_slice(&(s.len() as u32).to_le_bytes());
        self.op(s.as_bytes())
    }
    fn int(&mut self, v: u64) -> &mut Self {
        self.0.extend_from_slice(&[0x8a, 8]);
        self.op(&v.to_le_bytes())
    }
    fn global(&mut self, m: &str, n: &str) -> &mut Self {
        self.op(format!("c{m}\n{n}\n").as_bytes())
    }
    /// `_rebuild_tensor_v2(storage(key, numel float32), offset, size, stride, False, {})`.
    fn tensor(&mut self, key: &str, numel: u64, size: &[u64], stride: &[u64]) -> &mut Self {
        self.global("torch._utils", "_rebuild_tensor_v2").op(b"(");
        self.op(b"(").str("storage").global("torch", "FloatStorage");
        self.str(key)
            .str("cpu")
            .int(numel)
            .op(b"tQ")
            .int(0)
            .op(b"(");
        for &s in size {
            self.int(s);
        }
        self.op(b"t(");
        for &s in stride {
            self.int(s);
        }
        self.op(b"t\x89}tR")
    }
}

/// A `torch.save`-style zip: `archive/data.pkl` and `archive/data/<key>` entries (deflated).
/// Writes a storage's bytes into an open zip entry.
type Fill<'a> = &'a dyn Fn(&mut dyn Write);

fn pth(pickle: &[u8], storages: &[(&str, Fill)]) -> Vec<u8> {
    let mut z = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let o = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .compression_level(Some(1))
        .large_file(true);
    z.start_file("archive/data.pkl", o).unwrap();
    z.write_all(pickle).unwrap();
    for (key, fill) in storages {
        z.start_file(format!("archive/data/{key}"), o).unwrap();
        fill(&mut z);
    }
    z.finish().unwrap().into_inner()
}

fn zeros(n: u64) -> impl Fn(&mut dyn Write) {
    move |w: &mut dyn Write| {
        let chunk = vec![0u8; 1 << 20];
        let mut left = n;
        while left > 0 {
            let k = left.min(chunk.len() as u64) as usize;
            w.write_all(&chunk[..k]).unwrap();
            left -= k as u64;
        }
    }
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> String {
    std::fs::write(dir.join(name), bytes).unwrap();
    name.to_string()
}

fn train_run(dir: &Path, out: &str) {
    let o = run_capped(
        dir,
        &os(&[
            "train",
            "--dataset",
            "subspaces",
            "--preset",
            "crate-fmnist",
            "--epochs",
            "1",
            "--limit-train",
            "64",
            "--limit-test",
            "32",
            "--stats-images",
            "8",
            "--batch",
            "32",
            "--out",
            out,
        ]),
        true,
    );
    assert_eq!(o.code, Some(0), "{}", o.stderr);
}

fn cases(dir: &Path) -> Vec<Case> {
    let only = std::env::var("HOSTILE_ONLY").unwrap_or_default();
    let want = |n: &str| only.is_empty() || n.contains(only.as_str());
    let mut v = Vec::new();
    let tiny = model_bytes(&tiny_config());
    let tiny_f = write(dir, "tiny.safetensors", &tiny);
    let img = write(dir, "img.png", &png_gray(28, 28));

    if want("wrapped-grid") {
        let (a, b) = wrapping_grid();
        let f = write(
            dir,
            "wrapped.safetensors",
            &with_config(&tiny, |c| c["image"] = serde_json::json!([4 * a, 4 * b])),
        );
        v.push(case("wrapped-grid info", os(&["info", &f]), &[&f]));
        v.push(case(
            "wrapped-grid forward",
            os(&["forward", "--weights", &f, "--image", &img]),
            &[&f],
        ));
    }
    if want("pickle") {
        let mut p = Pkl::default();
        p.op(&[0x80, 2]);
        p.0.resize(2 + (32 << 20), b']');
        p.op(b".");
        let f = write(dir, "lists.pth", &pth(&p.0, &[]));
        v.push(case("pickle 32M EMPTY_LIST", os(&["info", &f]), &[&f]));
    }
    if want("views") {
        let n = 16u64 << 20;
        let mut p = Pkl::default();
        p.op(&[0x80, 2, b'}']);
        for i in 0..400 {
            p.str(&format!("k{i}")).tensor("0", n, &[n], &[1]).op(b"s");
        }
        p.op(b".");
        let f = write(dir, "views.pth", &pth(&p.0, &[("0", &zeros(4 * n))]));
        v.push(case(
            "400 views of a 64 MiB storage",
            os(&["info", &f]),
            &[&f],
        ));
    }
    if want("inflate") {
        let n = 512u64 << 20;
        let mut p = Pkl::default();
        p.op(&[0x80, 2, b'}']).str("w");
        p.tensor("0", n, &[1, 5, 8], &[40, 8, 1]).op(b"s.");
        let f = write(dir, "inflate.pth", &pth(&p.0, &[("0", &zeros(4 * n))]));
        v.push(case(
            "2 GiB storage for a [1,5,8] view",
            os(&["info", &f]),
            &[&f],
        ));
    }
    if want("header") {
        let mut h = String::from("{");
        for i in 0..1_000_000 {
            h.push_str(&format!(
                "\"t{i}\":{{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[0,0]}},"
            ));
        }
        h.pop();
        h.push('}');
        let mut b = (h.len() as u64).to_le_bytes().to_vec();
        b.extend_from_slice(h.as_bytes());
        let f = write(dir, "header.safetensors", &b);
        v.push(case(
            "safetensors header, 10^6 tensors",
            os(&["info", &f]),
            &[&f],
        ));
    }
    if want("image") {
        // A model at 224×224 RGB with 16×16 patches, small enough to load instantly.
        let mut c = tiny_config();
        c.image = [224, 224];
        c.patch = 16;
        c.channels = 3;
        c.mean = vec![0.5; 3];
        c.std = vec![0.25; 3];
        let m224 = write(dir, "m224.safetensors", &model_bytes(&c));
        let tall = write(dir, "tall.png", &png_gray(1, 16384));
        v.push(case(
            "1x16384 PNG, imagenet fit",
            os(&["forward", "--weights", &m224, "--image", &tall]),
            &[&tall],
        ));
        v.push(case(
            "1x16384 PNG, imagenet fit to 1024x1024",
            os(&[
                "forward",
                "--weights",
                &m224,
                "--image",
                &tall,
                "--size",
                "1024x1024",
            ]),
            &[&tall],
        ));
        for (name, file, bytes) in [
            (
                "JPEG claiming 16384x16384",
                "claim.jpg",
                jpeg_claiming(16384),
            ),
            ("RLE BMP 16384x16384", "rle.bmp", bmp_rle(16384)),
            ("GIF screen 16384x16384", "screen.gif", gif_screen(16384)),
            (
                "WebP 16383x16383 in 34 bytes",
                "bomb.webp",
                webp_uniform(16383, [0, 0, 0]),
            ),
            // Inside the size limits, but decoding them held 1.0 and 1.2 GB (the decoders'
            // own second buffer).
            (
                "JPEG claiming 13000x13000",
                "claim13k.jpg",
                jpeg_claiming(13000),
            ),
            (
                "WebP 13000x13000 in 34 bytes",
                "bomb13k.webp",
                webp_uniform(13000, [0, 0, 0]),
            ),
        ] {
            let f = write(dir, file, &bytes);
            v.push(case(
                name,
                os(&["forward", "--weights", &m224, "--image", &f]),
                &[&f],
            ));
        }
        let big = write(dir, "big.png", &png_gray(8192, 8192));
        let mut args = os(&["forward", "--weights", &m224, "--resize", "none", "--image"]);
        args.extend(std::iter::repeat_n(OsString::from(&big), 6));
        v.push(case("six 8192x8192 PNGs, --resize none", args, &[&big]));
        let mut jpg = jpeg_gray(64, 64);
        jpg.truncate(jpg.len() / 2);
        let cut = write(dir, "cut.jpg", &jpg);
        v.push(case(
            "truncated JPEG",
            os(&["forward", "--weights", &tiny_f, "--image", &cut]),
            &[&cut],
        ));
    }
    if want("dump") {
        // 8191 tokens (patch 1 on a 90×91 grid) and 8 heads: 2 GiB of attention per layer.
        let mut c = tiny_config();
        c.dim = 8;
        c.heads = 8;
        c.depth = 2;
        c.patch = 1;
        c.image = [90, 91];
        let f = write(dir, "attn.safetensors", &model_bytes(&c));
        v.push(case(
            "forward --dump, 2 GiB attention per layer",
            os(&[
                "forward",
                "--weights",
                &f,
                "--image",
                &img,
                "--resize",
                "stretch",
                "--dump",
                "d.safetensors",
            ]),
            &["--dump"],
        ));
    }
    if want("reads") {
        v.push(case(
            "info /dev/zero",
            os(&["info", "/dev/zero"]),
            &["/dev/zero"],
        ));
        v.push(case(
            "forward --image /dev/zero",
            os(&["forward", "--weights", &tiny_f, "--image", "/dev/zero"]),
            &["/dev/zero"],
        ));
        let f = File::create(dir.join("sparse3g.safetensors")).unwrap();
        f.set_len(3 << 30).unwrap();
        std::fs::hard_link(dir.join("sparse3g.safetensors"), dir.join("sparse3g.png")).unwrap();
        v.push(case(
            "info on a 3 GB file",
            os(&["info", "sparse3g.safetensors"]),
            &["sparse3g.safetensors"],
        ));
        v.push(case(
            "forward --image on a 3 GB file",
            os(&["forward", "--weights", &tiny_f, "--image", "sparse3g.png"]),
            &["sparse3g.png"],
        ));
    }
    if want("sizes") {
        v.push(case(
            "bench --batch 100000000",
            os(&[
                "bench",
                "--engine",
                "cpu",
                "--preset",
                "crate-fmnist",
                "--batch",
                "100000000",
            ]),
            &["--batch"],
        ));
        v.push(case(
            "init --classes 100000000000",
            os(&[
                "init",
                "--preset",
                "crate-fmnist",
                "--classes",
                "100000000000",
                "-o",
                "x.safetensors",
            ]),
            &["--classes"],
        ));
    }
    let needs_run = ["resume", "evaluate"].iter().any(|n| want(n));
    if needs_run {
        train_run(dir, "run");
    }
    if want("resume") {
        let copy = dir.join("run-edited");
        std::fs::create_dir_all(&copy).unwrap();
        for e in std::fs::read_dir(dir.join("run")).unwrap() {
            let e = e.unwrap();
            std::fs::copy(e.path(), copy.join(e.file_name())).unwrap();
        }
        let sp = copy.join("state.json");
        let mut s: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&sp).unwrap()).unwrap();
        s["shuffler"]["len"] = serde_json::json!(1_000_000_000_000u64);
        std::fs::write(&sp, serde_json::to_vec(&s).unwrap()).unwrap();
        let resume = |d: &str, extra: &[&str]| {
            let mut a = os(&["train", "--dataset", "subspaces", "--resume", d]);
            a.extend(os(extra));
            a
        };
        v.push(case(
            "train --resume, shuffler length 10^12",
            resume("run-edited", &["--limit-train", "64"]),
            &["state.json"],
        ));
        v.push(case(
            "train --resume DIR --epochs 4 after 1 epoch",
            resume("run", &["--limit-train", "64", "--epochs", "4"]),
            &["--epochs", "--resume"],
        ));
    }
    if want("finite") {
        let huge = write(dir, "huge.safetensors", &huge(&tiny, 3e38));
        v.push(case(
            "huge weights, forward (cpu)",
            os(&["forward", "--weights", &huge, "--image", &img]),
            &[&huge, "not finite"],
        ));
        v.push(case(
            "huge weights, forward --json (cpu)",
            os(&["forward", "--weights", &huge, "--image", &img, "--json"]),
            &[&huge, "not finite"],
        ));
        let mut gpu = case(
            "huge weights, forward (gpu)",
            os(&[
                "forward",
                "--weights",
                &huge,
                "--image",
                &img,
                "--engine",
                "gpu",
            ]),
            &[&huge, "not finite"],
        );
        gpu.uncapped = true;
        v.push(gpu);
        for (name, file, field, value) in [
            (
                "config std 1e-45",
                "std.safetensors",
                "std",
                serde_json::json!([1e-45]),
            ),
            (
                "config mean 1e39",
                "mean.safetensors",
                "mean",
                serde_json::json!([1e39]),
            ),
            (
                "config eta 3e38",
                "eta.safetensors",
                "eta",
                serde_json::json!(3e38),
            ),
        ] {
            let f = write(dir, file, &with_config(&tiny, |c| c[field] = value.clone()));
            v.push(case(
                name,
                os(&["forward", "--weights", &f, "--image", &img]),
                &[&f, field],
            ));
        }
    }
    if want("evaluate") {
        let m = std::fs::read(dir.join("run/model.safetensors")).unwrap();
        let f = write(dir, "huge-run.safetensors", &huge(&m, 3e38));
        v.push(case(
            "train --evaluate, huge weights",
            os(&[
                "train",
                "--dataset",
                "subspaces",
                "--evaluate",
                &f,
                "--limit-test",
                "16",
                "--stats-images",
                "4",
            ]),
            &[&f, "not finite"],
        ));
    }
    if want("flags") {
        for (flag, value) in [
            ("--lr", "NaN"),
            ("--weight-decay", "-1e30"),
            ("--warmup-epochs", "NaN"),
            ("--clip", "-1"),
            ("--label-smoothing", "2"),
            ("--epochs", "0"),
        ] {
            let name: &'static str = Box::leak(format!("train {flag}={value}").into_boxed_str());
            v.push(case(
                name,
                os(&[
                    "train",
                    "--dataset",
                    "subspaces",
                    &format!("{flag}={value}"),
                    "--out",
                    "o",
                ]),
                &[flag],
            ));
        }
        v.push(case(
            "train --min-lr above --lr",
            os(&[
                "train",
                "--dataset",
                "subspaces",
                "--lr",
                "1e-4",
                "--min-lr",
                "1e-3",
                "--out",
                "o",
            ]),
            &["--min-lr", "--lr"],
        ));
    }
    if want("keys") {
        let st = read_safetensors(&tiny, "x").unwrap();
        let mut t = st.tensors.clone();
        t.remove("mlp_head.0.bias");
        let f = write(
            dir,
            "missing.safetensors",
            &write_tensors(&t, &st.metadata).unwrap(),
        );
        v.push(case(
            "missing key",
            os(&["info", &f]),
            &[&f, "mlp_head.0.bias"],
        ));
        let mut t = st.tensors.clone();
        t.insert("extra.weight".into(), Tensor::zeros(&[2]));
        let f = write(
            dir,
            "extra.safetensors",
            &write_tensors(&t, &st.metadata).unwrap(),
        );
        v.push(case(
            "unexpected key",
            os(&["info", &f]),
            &[&f, "extra.weight"],
        ));
        let mut t = st.tensors.clone();
        t.insert("mlp_head.0.bias".into(), Tensor::zeros(&[5]));
        let f = write(
            dir,
            "shape.safetensors",
            &write_tensors(&t, &st.metadata).unwrap(),
        );
        v.push(case(
            "wrong shape",
            os(&["info", &f]),
            &[&f, "mlp_head.0.bias"],
        ));
    }
    v
}

#[test]
fn hostile_inputs_are_refused_with_bounded_memory() {
    let dir = std::env::temp_dir().join(format!("whitebox-hostile-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let cases = cases(&dir);
    let mut failures = Vec::new();
    eprintln!("| case | exit | peak MiB | message |\n|---|---|---|---|");
    for c in &cases {
        let o = run_capped(&dir, &c.args, !c.uncapped);
        let exit = match (o.code, o.signal) {
            (Some(code), _) => code.to_string(),
            (None, Some(s)) => format!("signal {s}"),
            _ => "?".into(),
        };
        let msg = o
            .stderr
            .lines()
            .rev()
            .find(|l| l.starts_with("error") || l.contains("panicked") || l.contains("memory"))
            .or_else(|| o.stderr.lines().last())
            .unwrap_or("")
            .chars()
            .take(200)
            .collect::<String>();
        eprintln!(
            "| {} | {exit} | {} | {} |",
            c.name,
            o.peak_kib / 1024,
            msg.replace('|', "/")
        );
        let mut why = Vec::new();
        match o.code {
            Some(0) => why.push("exit 0".to_string()),
            Some(101) => why.push("panicked".to_string()),
            Some(_) => {}
            None => why.push(format!("killed by signal {:?}", o.signal)),
        }
        if o.peak_kib >= PEAK_LIMIT_KIB {
            why.push(format!("peak RSS {} MiB", o.peak_kib / 1024));
        }
        if o.stderr.contains("panicked") {
            why.push("panicked".to_string());
        }
        for m in &c.mention {
            if !o.stderr.contains(m.as_str()) {
                why.push(format!("message does not mention `{m}`"));
            }
        }
        if !why.is_empty() {
            failures.push(format!(
                "{}: {}\n  stderr: {}",
                c.name,
                why.join(", "),
                o.stderr.trim()
            ));
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        failures.is_empty(),
        "{} of {} hostile cases misbehaved:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

// ---------------------------------------------------------------------------------------------
// Round trips: every file the project writes loads back bit for bit.

/// SplitMix64: a small, seeded source of test cases.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    /// Any f32 bit pattern, NaN payloads, infinities and subnormals included.
    fn bits(&mut self) -> f32 {
        f32::from_bits(self.next() as u32)
    }
}

fn same_bits(a: &Tensor, b: &Tensor) -> bool {
    a.shape == b.shape
        && a.data.len() == b.data.len()
        && a.data
            .iter()
            .zip(&b.data)
            .all(|(x, y)| x.to_bits() == y.to_bits())
}

#[test]
fn written_files_load_back_bit_identically() {
    let mut rng = Rng(14);
    // safetensors: random keys, shapes (empty and zero-sized too), bit patterns and metadata.
    for case in 0..200 {
        let mut tensors = BTreeMap::new();
        for i in 0..rng.below(6) {
            let rank = rng.below(4) as usize;
            let shape: Vec<usize> = (0..rank).map(|_| rng.below(5) as usize).collect();
            let n = shape.iter().product::<usize>();
            let data = (0..n).map(|_| rng.bits()).collect();
            let key = format!(
                "k{i}.{}\u{e9}/{}",
                rng.below(1000),
                "x".repeat(rng.below(40) as usize)
            );
            tensors.insert(key, Tensor::new(shape, data).unwrap());
        }
        if rng.below(10) == 0 {
            tensors.clear();
        }
        let mut meta = BTreeMap::new();
        for i in 0..rng.below(3) {
            meta.insert(
                format!("m{i}"),
                format!("\"quoted\" \u{2603} {}", rng.next()),
            );
        }
        let bytes = write_tensors(&tensors, &meta).unwrap();
        let back = read_safetensors(&bytes, "rt.safetensors").unwrap();
        assert_eq!(back.metadata, meta, "case {case}");
        assert_eq!(back.tensors.len(), tensors.len(), "case {case}");
        for (k, t) in &tensors {
            assert!(same_bits(t, &back.tensors[k]), "case {case}: `{k}` changed");
        }
    }
    // Models: random valid configs, every parameter a random bit pattern.
    for case in 0..20 {
        let mut c = tiny_config();
        c.heads = 1 << rng.below(3);
        c.dim = c.heads * (1 + rng.below(4) as usize) * 2;
        c.depth = 1 + rng.below(3) as usize;
        c.classes = 1 + rng.below(12) as usize;
        c.eta = rng.below(1000) as f32 / 997.0;
        c.class_names = (rng.below(2) == 0).then(|| {
            (0..c.classes)
                .map(|i| format!("class \u{00e9}{i}"))
                .collect()
        });
        let p = init_params(&c, rng.next()).unwrap();
        let m = Model::new(c.clone(), p).unwrap();
        let bytes = model_to_safetensors(&m).unwrap();
        let st = read_safetensors(&bytes, "x").unwrap();
        let noisy: BTreeMap<String, Tensor> = st
            .tensors
            .into_iter()
            .map(|(k, mut t)| {
                // Models refuse non-finite weights: any finite bit pattern, subnormals too.
                t.data.iter_mut().for_each(|x| {
                    *x = loop {
                        let v = rng.bits();
                        if v.is_finite() {
                            break v;
                        }
                    }
                });
                (k, t)
            })
            .collect();
        let bytes = write_tensors(&noisy, &st.metadata).unwrap();
        let loaded = whitebox::model::io::load_model(&bytes, "rt.safetensors", None).unwrap();
        assert_eq!(loaded.model.config, c, "case {case}");
        assert!(loaded.notes.is_empty(), "case {case}: {:?}", loaded.notes);
        let again = model_to_safetensors(&loaded.model).unwrap();
        assert_eq!(again, bytes, "case {case}: a second write differs");
    }
}

#[test]
fn checkpoints_load_back_bit_identically() {
    use whitebox::train::{checkpoint, TrainConfig, Trainer};
    let c = tiny_config();
    let p = init_params(&c, 3).unwrap();
    let mut t = Trainer::new(c.clone(), &p, TrainConfig::new(2, 2, 5), 16).unwrap();
    let mut rng = Rng(7);
    for _ in 0..3 {
        let images: Vec<f32> = (0..2 * 28 * 28)
            .map(|_| rng.below(2000) as f32 / 1000.0 - 1.0)
            .collect();
        t.train_batch(&images, &[0, 2]).unwrap();
    }
    let dir = std::env::temp_dir().join(format!("whitebox-ckpt-rt-{}", std::process::id()));
    checkpoint::save(&dir, &t, true).unwrap();
    let back = checkpoint::load(&dir).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(back.state, t.state);
    assert_eq!(back.shuffler, t.shuffler);
    assert_eq!(back.config, t.config);
    for (set, back_set, what) in [
        (&t.params, &back.params, "params"),
        (&t.opt.m, &back.opt.m, "m"),
        (&t.opt.v, &back.opt.v, "v"),
    ] {
        assert_eq!(set.tensors.len(), back_set.tensors.len(), "{what}");
        assert!(!set.tensors.is_empty(), "{what}");
        for (k, a) in &set.tensors {
            let b = &back_set.tensors[k];
            assert_eq!(a.shape, b.shape, "{what} {k}");
            assert!(
                a.data
                    .iter()
                    .zip(&b.data)
                    .all(|(x, y)| x.to_bits() == y.to_bits()),
                "{what} {k} changed"
            );
        }
    }
    assert!(
        t.opt
            .m
            .tensors
            .values()
            .any(|a| a.data.iter().any(|&x| x != 0.0)),
        "the moments are all zero: the round trip would prove little"
    );
}

/// The hand-written lossless WebP the hostile-image tests build on decodes to what it says.
#[test]
fn webp_uniform_decodes_to_its_colour() {
    let img = image::load_from_memory(&webp_uniform(37, [200, 10, 90]))
        .unwrap()
        .to_rgb8();
    assert_eq!(img.dimensions(), (37, 37));
    assert!(img.pixels().all(|p| p.0 == [200, 10, 90]));
}
