//! The fuzz smoke run CI does (issue 14): every reader of untrusted bytes
//! (`whitebox::fuzzing::TARGETS`) on its seed corpus, then on seeded random mutations of it, for a
//! bounded time per target. An input fails the run when its target panics, when the heap it holds
//! at once passes 1 GiB (this binary's allocator counts every byte), or when it takes more than
//! 10 seconds; a failing input is saved under `target/fuzz-smoke/` to replay.
//!
//! This is the blind, bounded cousin of the coverage-guided runs in `fuzz/` (`scripts/fuzz.sh`,
//! minutes to hours per target); it also replays their grown corpus (`fuzz/corpus/<target>/`)
//! where one exists, and the committed regressions in `tests/fixtures/fuzz/<target>/`.
//!
//! Knobs: `FUZZ_SMOKE_SECS` (per target, default 12), `FUZZ_SMOKE_SEED`, `FUZZ_SMOKE_ONLY`.
//! Its own test binary (not `tests/main.rs`) because the counting allocator must see only it.

#![cfg(target_os = "linux")]

#[path = "common/hostile_images.rs"]
#[allow(dead_code)]
mod hostile_images;

use std::alloc::{GlobalAlloc, Layout, System};
use std::io::Read;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::time::{Duration, Instant};

/// The heap one input may hold at once, as libFuzzer's `-malloc_limit_mb=1024` in the long runs.
const HEAP_LIMIT: usize = 1 << 30;
/// Past this the allocator refuses outright (the process aborts): it only protects the machine.
const HARD_LIMIT: usize = 3 << 30;
const SLOW: Duration = Duration::from_secs(10);

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

struct Counting;

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        self.grow(l.size(), || unsafe { System.alloc(l) })
    }
    unsafe fn alloc_zeroed(&self, l: Layout) -> *mut u8 {
        self.grow(l.size(), || unsafe { System.alloc_zeroed(l) })
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        unsafe { System.dealloc(p, l) };
        LIVE.fetch_sub(l.size(), Relaxed);
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        if new <= l.size() {
            let q = unsafe { System.realloc(p, l, new) };
            if !q.is_null() {
                LIVE.fetch_sub(l.size() - new, Relaxed);
            }
            return q;
        }
        self.grow(new - l.size(), || unsafe { System.realloc(p, l, new) })
    }
}

impl Counting {
    fn grow(&self, by: usize, f: impl FnOnce() -> *mut u8) -> *mut u8 {
        let live = LIVE.fetch_add(by, Relaxed) + by;
        if live > HARD_LIMIT {
            LIVE.fetch_sub(by, Relaxed);
            return std::ptr::null_mut();
        }
        let p = f();
        if p.is_null() {
            LIVE.fetch_sub(by, Relaxed);
        } else {
            PEAK.fetch_max(live, Relaxed);
        }
        p
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn files(dir: &Path, keep: impl Fn(&str) -> bool) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_file() && p.file_name().and_then(|n| n.to_str()).is_some_and(&keep))
        .collect();
    v.sort();
    v
}

fn read_all(paths: &[PathBuf]) -> Vec<Vec<u8>> {
    paths.iter().map(|p| std::fs::read(p).unwrap()).collect()
}

/// The pickle inside a `torch.save` zip (its shortest `…/data.pkl`).
fn pickle_of(pth: &[u8]) -> Option<Vec<u8>> {
    let mut z = zip::ZipArchive::new(std::io::Cursor::new(pth)).ok()?;
    let name = z
        .file_names()
        .filter(|n| n.ends_with("/data.pkl"))
        .min_by_key(|n| n.len())?
        .to_string();
    let mut out = Vec::new();
    z.by_name(&name).ok()?.read_to_end(&mut out).ok()?;
    Some(out)
}

/// The config JSON a safetensors file carries in its metadata.
fn config_of(st: &[u8]) -> Option<Vec<u8>> {
    let n = u64::from_le_bytes(st.get(..8)?.try_into().ok()?) as usize;
    let header: serde_json::Value = serde_json::from_slice(st.get(8..8 + n)?).ok()?;
    Some(
        header["__metadata__"]["config"]
            .as_str()?
            .as_bytes()
            .to_vec(),
    )
}

/// The seed corpus of a target, built from the test fixtures (the same seeds `scripts/fuzz.sh`
/// starts the long runs from), plus the long runs' grown corpus and committed regressions.
fn seeds(target: &str) -> Vec<Vec<u8>> {
    let fx = root().join("tests/fixtures");
    let pth = files(&fx.join("pth"), |n| {
        n.ends_with(".pth") || n.ends_with(".pth.tar")
    });
    let mut st = files(&fx.join("pth"), |n| n.ends_with(".safetensors"));
    st.push(fx.join("golden/small-interp.safetensors"));
    let mut v = match target {
        "pth" => read_all(&pth),
        "pickle" => read_all(&pth).iter().filter_map(|b| pickle_of(b)).collect(),
        "safetensors" => read_all(&st),
        "config" => {
            let mut v: Vec<Vec<u8>> = read_all(&st).iter().filter_map(|b| config_of(b)).collect();
            v.push(br#"{"dim":128,"depth":6,"heads":4,"patch":4,"image":[28,28],"channels":1,"classes":10,"eta":0.1,"lambda":0.1,"mean":[0.286],"std":[0.353],"class_names":["a","b","c","d","e","f","g","h","i","j"]}"#.to_vec());
            v.push(br#"{"dim":768,"depth":12,"heads":6,"patch":8,"image":[224,224],"channels":3,"classes":21842,"eta":0.1,"lambda":0.1,"mean":[0.485,0.456,0.406],"std":[0.229,0.224,0.225],"pre_head_dim":768}"#.to_vec());
            v
        }
        "image" => {
            let mut v = read_all(&files(&fx.join("images"), |n| {
                n.ends_with("_32.png") || n.ends_with(".jpg")
            }));
            v.push(hostile_images::jpeg_gray(24, 16));
            v.push(hostile_images::png_gray(5, 3));
            v.push(hostile_images::bmp_rle(6));
            v.push(hostile_images::gif_screen(4));
            v.push(hostile_images::webp_uniform(9, [10, 200, 30]));
            v
        }
        other => panic!("unknown fuzz target {other}"),
    };
    for dir in [
        root().join("fuzz/corpus").join(target),
        fx.join("fuzz").join(target),
    ] {
        v.extend(read_all(&files(&dir, |_| true)));
    }
    assert!(!v.is_empty(), "no seeds for {target}");
    v
}

/// xorshift64*: the mutations are a pure function of the seed, so a failure reproduces.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Values that break size arithmetic: zero, one, signed and unsigned edges, powers of two.
const INTERESTING: &[u64] = &[
    0,
    1,
    0x7f,
    0x80,
    0xff,
    0x7fff,
    0xffff,
    0x7fff_ffff,
    0x8000_0000,
    0xffff_ffff,
    1 << 32,
    1 << 40,
    i64::MAX as u64,
    u64::MAX,
];

/// One to four byte-level mutations: bit flips, interesting bytes and words, insertions,
/// deletions, duplicated runs, truncation, a splice with another seed, and — for text such as
/// JSON headers — a run of digits replaced by a large or negative number.
fn mutate(rng: &mut Rng, input: &[u8], other: &[u8]) -> Vec<u8> {
    let mut b = input.to_vec();
    for _ in 0..1 + rng.below(4) {
        let n = b.len();
        match rng.below(9) {
            0 if n > 0 => {
                let i = rng.below(n);
                b[i] ^= 1 << rng.below(8);
            }
            1 if n > 0 => {
                let i = rng.below(n);
                b[i] = INTERESTING[rng.below(5)] as u8;
            }
            2 if n >= 8 => {
                let i = rng.below(n - 7);
                let w = INTERESTING[rng.below(INTERESTING.len())];
                let w = if rng.below(2) == 0 {
                    w.to_le_bytes()
                } else {
                    w.to_be_bytes()
                };
                let k = [2, 4, 8][rng.below(3)];
                b[i..i + k].copy_from_slice(&w[..k]);
            }
            3 => {
                let i = rng.below(n + 1);
                let k = 1 + rng.below(16);
                let ins: Vec<u8> = (0..k).map(|_| rng.next() as u8).collect();
                b.splice(i..i, ins);
            }
            4 if n > 1 => {
                let i = rng.below(n);
                let k = 1 + rng.below((n - i).min(64));
                b.drain(i..i + k);
            }
            5 if n > 1 => {
                let i = rng.below(n);
                let k = 1 + rng.below((n - i).min(256));
                let run = b[i..i + k].to_vec();
                let at = rng.below(n + 1);
                b.splice(at..at, run);
            }
            6 if n > 1 => b.truncate(rng.below(n)),
            7 if !other.is_empty() => {
                let cut = rng.below(n + 1);
                let from = rng.below(other.len());
                b.truncate(cut);
                b.extend_from_slice(&other[from..]);
            }
            _ => {
                let digits: Vec<usize> = (0..n).filter(|&i| b[i].is_ascii_digit()).collect();
                if !digits.is_empty() {
                    let mut i = digits[rng.below(digits.len())];
                    while i > 0 && b[i - 1].is_ascii_digit() {
                        i -= 1;
                    }
                    let mut j = i;
                    while j < n && b[j].is_ascii_digit() {
                        j += 1;
                    }
                    let num = match rng.below(4) {
                        0 => INTERESTING[rng.below(INTERESTING.len())].to_string(),
                        1 => format!("-{}", rng.below(1 << 20)),
                        2 => "1e308".to_string(),
                        _ => rng.below(100_000).to_string(),
                    };
                    b.splice(i..j, num.into_bytes());
                }
            }
        }
    }
    b
}

struct Failure {
    target: &'static str,
    why: String,
    saved: PathBuf,
}

/// Runs one input: the heap it held at most, or why it failed (the input is then saved).
fn run_one(
    target: &'static str,
    f: fn(&[u8]),
    input: &[u8],
    index: usize,
) -> Result<usize, Failure> {
    let before = LIVE.load(Relaxed);
    PEAK.store(before, Relaxed);
    let t = Instant::now();
    let outcome = catch_unwind(AssertUnwindSafe(|| f(input)));
    let took = t.elapsed();
    let held = PEAK.load(Relaxed).saturating_sub(before);
    let why = match outcome {
        Err(e) => Some(format!(
            "panicked: {}",
            e.downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| e.downcast_ref::<&str>().copied())
                .unwrap_or("(non-string payload)")
        )),
        Ok(()) if held > HEAP_LIMIT => Some(format!("held {} MiB of heap at once", held >> 20)),
        Ok(()) if took > SLOW => Some(format!("took {:.1} s", took.as_secs_f64())),
        Ok(()) => None,
    };
    match why {
        None => Ok(held),
        Some(why) => {
            // The first few failing inputs are enough to debug with; a broken reader fails
            // thousands.
            static SAVED: AtomicUsize = AtomicUsize::new(0);
            let dir = root().join("target/fuzz-smoke");
            let saved = dir.join(format!("{target}-{index}.bin"));
            if SAVED.fetch_add(1, Relaxed) < 20 {
                std::fs::create_dir_all(&dir).unwrap();
                std::fs::write(&saved, input).unwrap();
            }
            Err(Failure { target, why, saved })
        }
    }
}

#[test]
fn readers_survive_mutated_inputs() {
    let secs: u64 = std::env::var("FUZZ_SMOKE_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(12);
    let seed: u64 = std::env::var("FUZZ_SMOKE_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5eed_f022);
    let only = std::env::var("FUZZ_SMOKE_ONLY").unwrap_or_default();
    // The readers' own error paths print nothing; a panic's message is in the failure report.
    std::panic::set_hook(Box::new(|_| {}));
    let mut failures = Vec::new();
    eprintln!("| target | seeds | mutated inputs | seconds | largest heap held (MiB) |");
    eprintln!("|---|---|---|---|---|");
    for &(target, f) in whitebox::fuzzing::TARGETS {
        if !only.is_empty() && !target.contains(&only) {
            continue;
        }
        let corpus = seeds(target);
        let mut rng = Rng(seed ^ (target.len() as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
        let start = Instant::now();
        let mut largest = 0usize;
        let mut track = |r: Result<usize, Failure>| match r {
            Ok(held) => largest = largest.max(held),
            Err(e) => failures.push(e),
        };
        for (i, s) in corpus.iter().enumerate() {
            track(run_one(target, f, s, i));
        }
        let mut n = 0usize;
        while start.elapsed() < Duration::from_secs(secs) {
            let a = &corpus[rng.below(corpus.len())];
            let b = &corpus[rng.below(corpus.len())];
            let input = mutate(&mut rng, a, b);
            track(run_one(target, f, &input, corpus.len() + n));
            n += 1;
        }
        eprintln!(
            "| {target} | {} | {n} | {:.1} | {} |",
            corpus.len(),
            start.elapsed().as_secs_f64(),
            largest >> 20
        );
        assert!(n > 0, "{target}: no mutated input ran in {secs} s");
    }
    let _ = std::panic::take_hook();
    if !failures.is_empty() {
        let lines: Vec<String> = failures
            .iter()
            .take(20)
            .map(|f| {
                format!(
                    "{}: {} (input saved to {})",
                    f.target,
                    f.why,
                    f.saved.display()
                )
            })
            .collect();
        panic!("{} failing inputs:\n{}", failures.len(), lines.join("\n"));
    }
}
