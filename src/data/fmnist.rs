//! Fashion-MNIST: the IDX files (gzip-compressed or raw) read from byte slices, so that the page
//! can load them too, plus a native helper that reads a directory (Debian's
//! `dataset-fashion-mnist` installs them in [`DEFAULT_DIR`]).
//!
//! IDX: a big-endian `u32` magic (`0x00000803` for images, `0x00000801` for labels), one
//! big-endian `u32` per dimension (N, rows, cols for images; N for labels), then the `u8` data.
//! Header counts are never trusted beyond the bytes actually present, and decompression stops at
//! [`MAX_IDX_BYTES`], so a hostile or damaged file cannot make the reader allocate more than that.

use std::io::Read;

use crate::data::batch::ImageDataset;
use crate::data::image_u8::ImageU8;
use crate::error::{Error, Result};
use crate::model::config::FMNIST_CLASSES;

/// Magic number of an IDX file of `u8` images (3 dimensions).
pub const IMAGES_MAGIC: u32 = 0x0000_0803;
/// Magic number of an IDX file of `u8` labels (1 dimension).
pub const LABELS_MAGIC: u32 = 0x0000_0801;
/// Where Debian's `dataset-fashion-mnist` package puts the files.
pub const DEFAULT_DIR: &str = "/usr/share/datasets/fashion-mnist";
/// Environment variable that overrides [`DEFAULT_DIR`].
pub const DIR_ENV: &str = "WHITEBOX_FMNIST_DIR";
/// The largest decompressed IDX file accepted (the training images are 47 MB).
pub const MAX_IDX_BYTES: usize = 256 << 20;
/// Side of a Fashion-MNIST image.
pub const SIDE: usize = 28;

/// Which half of the dataset.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Split {
    Train,
    Test,
}

impl Split {
    /// `"train"` or `"test"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Split::Train => "train",
            Split::Test => "test",
        }
    }

    /// Parses `"train"` or `"test"`.
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "train" => Ok(Split::Train),
            "test" => Ok(Split::Test),
            other => Err(Error::Dataset(format!(
                "unknown split `{other}` (expected `train` or `test`)"
            ))),
        }
    }

    /// File name of the images without the `.gz` suffix: `train-images-idx3-ubyte`.
    pub fn images_file(self) -> &'static str {
        match self {
            Split::Train => "train-images-idx3-ubyte",
            Split::Test => "t10k-images-idx3-ubyte",
        }
    }

    /// File name of the labels without the `.gz` suffix: `train-labels-idx1-ubyte`.
    pub fn labels_file(self) -> &'static str {
        match self {
            Split::Train => "train-labels-idx1-ubyte",
            Split::Test => "t10k-labels-idx1-ubyte",
        }
    }
}

/// One split of Fashion-MNIST in memory: `len()` images of `rows`×`cols` gray `u8` pixels
/// (row-major, image after image: shape (N, 28, 28)) and their labels in `0..10`.
#[derive(Clone, Debug, PartialEq)]
pub struct FashionMnist {
    pub split: Split,
    pub rows: usize,
    pub cols: usize,
    /// `len() * rows * cols` bytes.
    pub images: Vec<u8>,
    /// One label per image, each below `class_names.len()`.
    pub labels: Vec<u8>,
    /// [`FMNIST_CLASSES`].
    pub class_names: Vec<String>,
}

impl FashionMnist {
    /// Parses a split from the bytes of its two files (each gzip-compressed or raw IDX). The
    /// names are used in error messages only.
    pub fn from_bytes(
        split: Split,
        images: &[u8],
        images_name: &str,
        labels: &[u8],
        labels_name: &str,
    ) -> Result<Self> {
        let img_raw = maybe_gunzip(images, images_name, MAX_IDX_BYTES)?;
        let (n, rows, cols, _) = parse_idx_images(&img_raw, images_name)?;
        let lab_raw = maybe_gunzip(labels, labels_name, MAX_IDX_BYTES)?;
        let labels = parse_idx_labels(&lab_raw, labels_name)?;
        if labels.len() != n {
            return Err(Error::Dataset(format!(
                "{images_name} holds {n} images but {labels_name} holds {} labels",
                labels.len()
            )));
        }
        if (rows, cols) != (SIDE, SIDE) {
            return Err(Error::Dataset(format!(
                "{images_name}: images are {rows}x{cols}, Fashion-MNIST's are {SIDE}x{SIDE}"
            )));
        }
        let classes = FMNIST_CLASSES.len();
        if let Some(i) = labels.iter().position(|&l| l as usize >= classes) {
            return Err(Error::Dataset(format!(
                "{labels_name}: label {} of item {i} is out of range (Fashion-MNIST has {classes} classes, 0..={})",
                labels[i],
                classes - 1
            )));
        }
        // The pixels are everything after the 16-byte header (checked above).
        let mut pixels = img_raw.into_owned();
        pixels.drain(..16);
        Ok(Self {
            split,
            rows,
            cols,
            images: pixels,
            labels,
            class_names: FMNIST_CLASSES.iter().map(|s| s.to_string()).collect(),
        })
    }

    /// Number of images.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// The pixels of image `i` (`rows * cols` bytes, row-major). Panics when `i >= len()`.
    pub fn pixels(&self, i: usize) -> &[u8] {
        let n = self.rows * self.cols;
        &self.images[i * n..(i + 1) * n]
    }

    /// How many images each class has.
    pub fn class_counts(&self) -> Vec<usize> {
        let mut h = vec![0usize; self.class_names.len()];
        for &l in &self.labels {
            h[l as usize] += 1;
        }
        h
    }

    /// Mean and standard deviation of all pixels scaled to [0, 1].
    pub fn pixel_stats(&self) -> (f64, f64) {
        let mut hist = [0u64; 256];
        for &p in &self.images {
            hist[p as usize] += 1;
        }
        let n = self.images.len().max(1) as f64;
        let mean = hist
            .iter()
            .enumerate()
            .map(|(v, &c)| v as f64 / 255.0 * c as f64)
            .sum::<f64>()
            / n;
        let var = hist
            .iter()
            .enumerate()
            .map(|(v, &c)| (v as f64 / 255.0 - mean).powi(2) * c as f64)
            .sum::<f64>()
            / n;
        (mean, var.sqrt())
    }

    /// Reads a split from `dir`: `<name>.gz` if present, else the raw `<name>`.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn load_dir(dir: &std::path::Path, split: Split) -> Result<Self> {
        let (images, images_name) = read_idx_file(dir, split.images_file())?;
        let (labels, labels_name) = read_idx_file(dir, split.labels_file())?;
        Self::from_bytes(split, &images, &images_name, &labels, &labels_name)
    }

    /// Reads a split from [`resolve_dir`]`(explicit)`.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn load(explicit: Option<&std::path::Path>, split: Split) -> Result<Self> {
        Self::load_dir(&resolve_dir(explicit), split)
    }
}

impl ImageDataset for FashionMnist {
    fn len(&self) -> usize {
        self.labels.len()
    }
    fn image(&self, i: usize) -> ImageU8 {
        ImageU8 {
            height: self.rows,
            width: self.cols,
            channels: 1,
            pixels: self.pixels(i).to_vec(),
        }
    }
    fn label(&self, i: usize) -> usize {
        self.labels[i] as usize
    }
    fn class_names(&self) -> Vec<String> {
        self.class_names.clone()
    }
}

/// The directory to read: `explicit` if given, else `$WHITEBOX_FMNIST_DIR` if set and not
/// empty, else [`DEFAULT_DIR`].
#[cfg(not(target_arch = "wasm32"))]
pub fn resolve_dir(explicit: Option<&std::path::Path>) -> std::path::PathBuf {
    if let Some(p) = explicit {
        return p.to_path_buf();
    }
    match std::env::var_os(DIR_ENV) {
        Some(v) if !v.is_empty() => v.into(),
        _ => DEFAULT_DIR.into(),
    }
}

#[cfg(not(target_arch = "wasm32"))]
fn read_idx_file(dir: &std::path::Path, base: &str) -> Result<(Vec<u8>, String)> {
    let gz = dir.join(format!("{base}.gz"));
    let raw = dir.join(base);
    for path in [&gz, &raw] {
        match std::fs::read(path) {
            Ok(bytes) => return Ok((bytes, path.display().to_string())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(Error::io(path.display().to_string(), e)),
        }
    }
    Err(Error::Dataset(format!(
        "Fashion-MNIST file not found: neither {} nor {} exists (install Debian's \
         `dataset-fashion-mnist` package, which puts the files in {DEFAULT_DIR}, or point \
         {DIR_ENV} or the path option at a directory holding them)",
        gz.display(),
        raw.display()
    )))
}

/// `bytes` decompressed if they start with the gzip magic (`1f 8b`), else borrowed as they are.
/// Refuses output larger than `max_out` bytes and names `name` in every error.
pub fn maybe_gunzip<'a>(
    bytes: &'a [u8],
    name: &str,
    max_out: usize,
) -> Result<std::borrow::Cow<'a, [u8]>> {
    if !bytes.starts_with(&[0x1f, 0x8b]) {
        return Ok(std::borrow::Cow::Borrowed(bytes));
    }
    let mut out = Vec::with_capacity(bytes.len().saturating_mul(2).min(max_out));
    let dec = flate2::read::MultiGzDecoder::new(bytes);
    dec.take(max_out as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|e| Error::Dataset(format!("{name}: corrupt or truncated gzip data ({e})")))?;
    if out.len() > max_out {
        return Err(Error::Dataset(format!(
            "{name}: decompresses to more than {max_out} bytes; refusing it"
        )));
    }
    Ok(std::borrow::Cow::Owned(out))
}

/// The magic and dimensions of an IDX header, checked against the bytes present.
fn idx_header(bytes: &[u8], name: &str, magic: u32, what: &str) -> Result<Vec<usize>> {
    let ndim = (magic & 0xff) as usize;
    let need = 4 + 4 * ndim;
    if bytes.len() < 4 {
        return Err(Error::Dataset(format!(
            "{name}: truncated: {} bytes, too short for an IDX header",
            bytes.len()
        )));
    }
    let be = |o: usize| u32::from_be_bytes([bytes[o], bytes[o + 1], bytes[o + 2], bytes[o + 3]]);
    let got = be(0);
    if got != magic {
        let hint = match got {
            IMAGES_MAGIC => " (this is an images file)",
            LABELS_MAGIC => " (this is a labels file)",
            _ => "",
        };
        return Err(Error::Dataset(format!(
            "{name}: wrong magic number 0x{got:08x}, expected 0x{magic:08x} for IDX {what}{hint}"
        )));
    }
    if bytes.len() < need {
        return Err(Error::Dataset(format!(
            "{name}: truncated: {} bytes, the IDX {what} header needs {need}",
            bytes.len()
        )));
    }
    Ok((0..ndim).map(|i| be(4 + 4 * i) as usize).collect())
}

/// Raw (decompressed) IDX images → (count, rows, cols, pixels). The pixels borrow `bytes`.
pub fn parse_idx_images<'a>(
    bytes: &'a [u8],
    name: &str,
) -> Result<(usize, usize, usize, &'a [u8])> {
    let dims = idx_header(bytes, name, IMAGES_MAGIC, "images")?;
    let (n, rows, cols) = (dims[0], dims[1], dims[2]);
    let body = &bytes[16..];
    let expected = n
        .checked_mul(rows)
        .and_then(|v| v.checked_mul(cols))
        .filter(|&v| v <= body.len());
    match expected {
        Some(len) if len == body.len() => Ok((n, rows, cols, body)),
        Some(len) => Err(Error::Dataset(format!(
            "{name}: header says {n} images of {rows}x{cols} ({len} bytes) but {} bytes follow",
            body.len()
        ))),
        None => Err(Error::Dataset(format!(
            "{name}: truncated: header says {n} images of {rows}x{cols} but only {} bytes of pixels follow",
            body.len()
        ))),
    }
}

/// Raw (decompressed) IDX labels → the labels.
pub fn parse_idx_labels(bytes: &[u8], name: &str) -> Result<Vec<u8>> {
    let dims = idx_header(bytes, name, LABELS_MAGIC, "labels")?;
    let n = dims[0];
    let body = &bytes[8..];
    if n > body.len() {
        return Err(Error::Dataset(format!(
            "{name}: truncated: header says {n} labels but only {} bytes follow",
            body.len()
        )));
    }
    if n < body.len() {
        return Err(Error::Dataset(format!(
            "{name}: header says {n} labels but {} bytes follow",
            body.len()
        )));
    }
    Ok(body.to_vec())
}

/// Raw IDX bytes of `n` `rows`×`cols` images (for tests and tools).
pub fn encode_idx_images(pixels: &[u8], n: usize, rows: usize, cols: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(16 + pixels.len());
    for v in [IMAGES_MAGIC, n as u32, rows as u32, cols as u32] {
        out.extend_from_slice(&v.to_be_bytes());
    }
    out.extend_from_slice(pixels);
    out
}

/// Raw IDX bytes of labels (for tests and tools).
pub fn encode_idx_labels(labels: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(8 + labels.len());
    out.extend_from_slice(&LABELS_MAGIC.to_be_bytes());
    out.extend_from_slice(&(labels.len() as u32).to_be_bytes());
    out.extend_from_slice(labels);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn gz(bytes: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(bytes).unwrap();
        e.finish().unwrap()
    }

    fn small() -> (Vec<u8>, Vec<u8>) {
        let px: Vec<u8> = (0..3 * 784).map(|i| (i % 251) as u8).collect();
        (
            encode_idx_images(&px, 3, 28, 28),
            encode_idx_labels(&[9, 0, 3]),
        )
    }

    #[test]
    fn raw_and_gzip_read_the_same() {
        let (im, lb) = small();
        let a = FashionMnist::from_bytes(Split::Train, &im, "im", &lb, "lb").unwrap();
        let b = FashionMnist::from_bytes(Split::Train, &gz(&im), "im", &gz(&lb), "lb").unwrap();
        assert_eq!(a, b);
        assert_eq!(a.len(), 3);
        assert_eq!(a.labels, vec![9, 0, 3]);
        assert_eq!(a.pixels(1)[0], (784 % 251) as u8);
        assert_eq!(a.image(2).pixels.len(), 784);
    }

    #[test]
    fn huge_header_count_is_refused_without_allocating() {
        let mut im = encode_idx_images(&[0; 784], 1, 28, 28);
        im[4..8].copy_from_slice(&u32::MAX.to_be_bytes());
        im[8..12].copy_from_slice(&u32::MAX.to_be_bytes());
        let e = parse_idx_images(&im, "big").unwrap_err().to_string();
        assert!(e.contains("big") && e.contains("truncated"), "{e}");
        let mut lb = encode_idx_labels(&[1, 2]);
        lb[4..8].copy_from_slice(&u32::MAX.to_be_bytes());
        let e = parse_idx_labels(&lb, "lab").unwrap_err().to_string();
        assert!(e.contains("lab") && e.contains("truncated"), "{e}");
    }

    #[test]
    fn gzip_output_is_bounded() {
        let z = gz(&vec![0u8; 10_000]);
        let e = maybe_gunzip(&z, "bomb.gz", 1000).unwrap_err().to_string();
        assert!(e.contains("bomb.gz") && e.contains("more than 1000"), "{e}");
        assert_eq!(maybe_gunzip(&z, "ok.gz", 10_000).unwrap().len(), 10_000);
    }

    #[cfg(not(target_arch = "wasm32"))]
    #[test]
    fn explicit_dir_wins() {
        let p = std::path::Path::new("/some/where");
        assert_eq!(resolve_dir(Some(p)), p);
        let d = resolve_dir(None);
        match std::env::var_os(DIR_ENV) {
            Some(v) if !v.is_empty() => assert_eq!(d, std::path::PathBuf::from(v)),
            _ => assert_eq!(d, std::path::Path::new(DEFAULT_DIR)),
        }
    }

    #[test]
    fn split_names() {
        assert_eq!(Split::parse("test").unwrap(), Split::Test);
        assert!(Split::parse("val").unwrap_err().to_string().contains("val"));
        assert_eq!(Split::Train.images_file(), "train-images-idx3-ubyte");
    }
}
