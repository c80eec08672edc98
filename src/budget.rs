//! Memory budgets: what a file or a request may make the library allocate, checked *before*
//! allocating, so that a small hostile input gets a message instead of taking the process (or
//! the browser tab) down.
//!
//! One [`Budget`] follows one piece of work (loading one weight file, decoding one image,
//! preparing one forward pass): each allocation that grows with the input is charged first,
//! and an allocation over what is left is refused with an [`Error::Budget`] that names the file,
//! what asked for the memory, how much, and the limit. The limits in [`limits`] are sized so that
//! every preset (CRATE-L is 310 MB of float32) loads, decodes and runs, and so that a refused
//! input never costs more than about 1 GiB (the page runs in a wasm tab of at most 4 GiB).

use std::fmt::Display;

use crate::error::{Error, Result};

pub const KIB: u64 = 1 << 10;
pub const MIB: u64 = 1 << 20;
pub const GIB: u64 = 1 << 30;

/// The limits every loader, decoder and analysis path uses.
pub mod limits {
    use super::{GIB, MIB};

    /// Loading one weight file: pickle machine, inflated storages and materialised tensors
    /// together (a CRATE-L checkpoint needs about 620 MB of it).
    pub const LOAD: u64 = 768 * MIB;
    /// Largest weight file read (CRATE-L in float64 is 620 MB).
    pub const MODEL_FILE: u64 = GIB;
    /// Largest `data.pkl` of a checkpoint (real ones are a few hundred KB; the tensor data lives
    /// in other entries).
    pub const PICKLE: u64 = 64 * MIB;
    /// The unpickler's own memory (stack, memo, containers), estimated per opcode.
    pub const PICKLE_MACHINE: u64 = 192 * MIB;
    /// Largest safetensors header (a CRATE-L header with ImageNet-21k class names in its
    /// metadata is under 2 MB).
    pub const SAFETENSORS_HEADER: u64 = 16 * MIB;
    /// Decoding one image: the decoder's buffer plus the RGB copy.
    pub const DECODE: u64 = 384 * MIB;
    /// Preparing one image for the model: the resized intermediate image and the float tensor.
    pub const PREPROCESS: u64 = 256 * MIB;
    /// One forward pass's inputs and the trace it keeps (`--dump`, the page's layer views).
    pub const ANALYSIS: u64 = 512 * MIB;
    /// Largest checkpoint data order (items of one epoch; 8 bytes each).
    pub const SHUFFLE_ITEMS: u64 = 1 << 26;
    /// Largest parameter count of a model (1 GiB of float32; CRATE-L has 77 M).
    pub const PARAMS: u64 = 1 << 28;
    /// Most files of an own-images dataset (a folder or a .zip, one sub-folder per class).
    pub const OWN_FILES: u64 = 100_000;
    /// Largest total of an own-images dataset's files (a .zip's entries once inflated): what
    /// the page holds in memory at once before decoding.
    pub const OWN_BYTES: u64 = GIB;
    /// Largest single file of an own-images dataset (a .zip entry once inflated).
    pub const OWN_FILE: u64 = 64 * MIB;
    /// The fitted 8-bit pixels of an own-images dataset (10,000 RGB images at 224×224 are
    /// 1.5 GB; at 32×32, 30 MB).
    pub const OWN_PIXELS: u64 = 512 * MIB;
}

/// A running total of charged bytes against a limit, for one named input.
#[derive(Clone, Debug)]
pub struct Budget {
    name: String,
    stage: &'static str,
    limit: u64,
    used: u64,
}

impl Budget {
    /// A budget of `limit` bytes for `stage` (e.g. "loading") of the input called `name`.
    pub fn new(name: impl Into<String>, stage: &'static str, limit: u64) -> Self {
        Self {
            name: name.into(),
            stage,
            limit,
            used: 0,
        }
    }

    /// The budget for loading one weight file.
    pub fn loading(name: impl Into<String>) -> Self {
        Self::new(name, "loading", limits::LOAD)
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn limit(&self) -> u64 {
        self.limit
    }

    pub fn used(&self) -> u64 {
        self.used
    }

    pub fn remaining(&self) -> u64 {
        self.limit.saturating_sub(self.used)
    }

    /// Charges `bytes` for `what`, or refuses when they do not fit in what is left.
    pub fn charge(&mut self, what: impl Display, bytes: u64) -> Result<()> {
        if bytes > self.remaining() {
            return Err(self.refusal(what, bytes));
        }
        self.used += bytes;
        Ok(())
    }

    /// Charges `count` items of `size` bytes each (overflow counts as over budget).
    pub fn charge_items(&mut self, what: impl Display, count: u64, size: u64) -> Result<()> {
        self.charge(what, count.saturating_mul(size))
    }

    /// Gives back bytes charged earlier (a buffer that was freed).
    pub fn release(&mut self, bytes: u64) {
        self.used = self.used.saturating_sub(bytes);
    }

    /// The error for `what` asking for `bytes`.
    pub fn refusal(&self, what: impl Display, bytes: u64) -> Error {
        let used = if self.used > 0 {
            format!(" ({} already used)", fmt_bytes(self.used))
        } else {
            String::new()
        };
        Error::Budget(format!(
            "{}: {what} needs {}, over the {} memory limit for {}{used}",
            self.name,
            fmt_bytes(bytes),
            fmt_bytes(self.limit),
            self.stage
        ))
    }
}

/// Bytes for people: `512 MiB`, `3.2 GiB`, `17 bytes`; `u64::MAX` (an overflowed size) as
/// "more than 16 EiB".
pub fn fmt_bytes(b: u64) -> String {
    if b == u64::MAX {
        return "more than 16 EiB".into();
    }
    for (unit, name) in [(GIB, "GiB"), (MIB, "MiB"), (KIB, "KiB")] {
        if b >= unit {
            return if b.is_multiple_of(unit) {
                format!("{} {name}", b / unit)
            } else {
                format!("{:.1} {name}", b as f64 / unit as f64)
            };
        }
    }
    format!("{b} bytes")
}

/// The product of `dims`, or `None` when it overflows.
pub fn checked_product(dims: &[usize]) -> Option<usize> {
    dims.iter().try_fold(1usize, |a, &d| a.checked_mul(d))
}

/// Reads at most `cap` bytes of a file (native only), refusing larger files before reading
/// them: a regular file by its size, anything else (a device, a pipe) after `cap` bytes. `sniff`
/// sees the first bytes (up to 64) and may refuse early, so that `/dev/zero` given as a model
/// costs nothing.
#[cfg(not(target_arch = "wasm32"))]
pub fn read_file_capped(
    path: &std::path::Path,
    cap: u64,
    what: &str,
    sniff: impl Fn(&[u8]) -> Result<()>,
) -> Result<Vec<u8>> {
    use std::io::Read;
    let name = path.display().to_string();
    let io = |e| Error::io(name.clone(), e);
    let too_big = |size: String| {
        Error::Budget(format!(
            "{name}: {what} is {size}, larger than the {} limit",
            fmt_bytes(cap)
        ))
    };
    let f = std::fs::File::open(path).map_err(io)?;
    let meta = f.metadata().map_err(io)?;
    if meta.is_dir() {
        return Err(Error::Input(format!(
            "{name}: is a directory, not a {what}"
        )));
    }
    if meta.is_file() && meta.len() > cap {
        return Err(too_big(fmt_bytes(meta.len())));
    }
    let hint = if meta.is_file() { meta.len() } else { 0 };
    let mut buf = Vec::with_capacity(hint.min(cap) as usize);
    let mut r = f.take(cap + 1);
    // The head first, for `sniff`.
    let mut head = [0u8; 64];
    let mut got = 0;
    while got < head.len() {
        let n = r.read(&mut head[got..]).map_err(io)?;
        if n == 0 {
            break;
        }
        got += n;
    }
    sniff(&head[..got])?;
    buf.extend_from_slice(&head[..got]);
    r.read_to_end(&mut buf).map_err(io)?;
    if buf.len() as u64 > cap {
        return Err(too_big(format!("more than {}", fmt_bytes(cap))));
    }
    Ok(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charges_until_the_limit_and_names_everything() {
        let mut b = Budget::new("w.pth", "loading", 10 * MIB);
        b.charge("tensor `a`", 6 * MIB).unwrap();
        let e = b.charge("tensor `b`", 5 * MIB).unwrap_err().to_string();
        assert_eq!(
            e,
            "w.pth: tensor `b` needs 5 MiB, over the 10 MiB memory limit for loading (6 MiB \
             already used)"
        );
        b.release(6 * MIB);
        b.charge("tensor `b`", 5 * MIB).unwrap();
        assert!(b.charge_items("x", u64::MAX / 2, 4).is_err());
    }

    #[test]
    fn formats_sizes() {
        assert_eq!(fmt_bytes(17), "17 bytes");
        assert_eq!(fmt_bytes(3 * GIB + GIB / 5), "3.2 GiB");
        assert_eq!(fmt_bytes(u64::MAX), "more than 16 EiB");
        assert_eq!(checked_product(&[1 << 40, 1 << 30]), None);
        assert_eq!(checked_product(&[]), Some(1));
    }

    #[test]
    fn capped_reads_refuse_devices_and_big_files() {
        let e = read_file_capped(std::path::Path::new("/dev/zero"), MIB, "model", |_| Ok(()))
            .unwrap_err()
            .to_string();
        assert!(e.contains("/dev/zero") && e.contains("1 MiB"), "{e}");
        let e = read_file_capped(std::path::Path::new("/dev/zero"), GIB, "model", |h| {
            Err(Error::Format(format!("starts with {:?}", &h[..2])))
        })
        .unwrap_err()
        .to_string();
        assert!(e.contains("starts with [0, 0]"), "{e}");
        let dir = std::env::temp_dir().join(format!("wb-budget-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("big.bin");
        let f = std::fs::File::create(&p).unwrap();
        f.set_len(3 * GIB).unwrap();
        let e = read_file_capped(&p, 64 * MIB, "image", |_| Ok(()))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("big.bin") && e.contains("3 GiB") && e.contains("64 MiB"),
            "{e}"
        );
        std::fs::write(&p, b"hello").unwrap();
        assert_eq!(read_file_capped(&p, 5, "x", |_| Ok(())).unwrap(), b"hello");
        assert!(read_file_capped(&p, 4, "x", |_| Ok(())).is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
