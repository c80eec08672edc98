//! The Fashion-MNIST subset bundled with the page (`web/datasets/fashion-mnist/`): the first
//! [`WEB_TRAIN`] images of the training split and the first [`WEB_TEST`] of the test split
//! (`t10k`), as gzip IDX files under the standard names, plus `index.json` ([`WebIndex`]: counts,
//! the rule, each file's length and SHA-256, the licence) and a README.
//!
//! [`build`] makes the files from the full splits (`whitebox dataset fmnist-web` writes them);
//! the page fetches them, checks them with [`WebIndex::check`] and parses them with
//! [`FashionMnist::from_gz_bytes`]. Because the files keep the standard names,
//! `whitebox train --data web/datasets/fashion-mnist` trains on exactly the page's subset.

use std::io::Write;

use serde::{Deserialize, Serialize};

use crate::data::fmnist::{encode_idx_images, encode_idx_labels, FashionMnist, Split};
use crate::error::{Error, Result};
use crate::sha256::sha256_hex;

/// Training images in the bundled subset (the first ones of `train-images-idx3-ubyte`).
pub const WEB_TRAIN: usize = 10_000;
/// Test images in the bundled subset (the first ones of `t10k-images-idx3-ubyte`).
pub const WEB_TEST: usize = 2_000;
/// Name of the index file.
pub const INDEX_FILE: &str = "index.json";
/// Largest index file the page accepts.
pub const MAX_INDEX_BYTES: usize = 64 << 10;

/// The credit every copy carries (Fashion-MNIST is MIT-licensed).
pub const LICENCE: &str = "Fashion-MNIST (c) 2017 Zalando SE (Zalando Research, \
    https://github.com/zalandoresearch/fashion-mnist), MIT licence; Han Xiao, Kashif Rasul, \
    Roland Vollgraf, \"Fashion-MNIST: a Novel Image Dataset for Benchmarking Machine Learning \
    Algorithms\", arXiv:1708.07747 (2017).";

/// One file of the subset.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebFile {
    pub name: String,
    /// Length in bytes (compressed).
    pub bytes: u64,
    /// SHA-256 of the file, lower-case hex.
    pub sha256: String,
}

/// One split of the subset: how many images, taken how, in which files.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebSplit {
    /// `"train"` or `"test"`.
    pub split: String,
    pub images: usize,
    /// Which images of the full split these are.
    pub taken: String,
    pub images_file: WebFile,
    pub labels_file: WebFile,
}

/// `index.json`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebIndex {
    pub dataset: String,
    /// Image side in pixels (28) and channels (1).
    pub size: [usize; 2],
    pub channels: usize,
    pub classes: Vec<String>,
    pub splits: Vec<WebSplit>,
    pub licence: String,
    /// Where the files were made from.
    pub source: String,
}

impl WebIndex {
    /// Parses `index.json` (bounded in size; every field required).
    pub fn from_json(bytes: &[u8]) -> Result<Self> {
        if bytes.len() > MAX_INDEX_BYTES {
            return Err(Error::Dataset(format!(
                "{INDEX_FILE}: {} bytes, more than the {MAX_INDEX_BYTES} an index may have",
                bytes.len()
            )));
        }
        serde_json::from_slice(bytes)
            .map_err(|e| Error::Dataset(format!("{INDEX_FILE}: not a dataset index ({e})")))
    }

    /// The split called `split`.
    pub fn split(&self, split: Split) -> Result<&WebSplit> {
        self.splits
            .iter()
            .find(|s| s.split == split.as_str())
            .ok_or_else(|| {
                Error::Dataset(format!("{INDEX_FILE} lists no `{}` split", split.as_str()))
            })
    }

    /// Checks fetched bytes against the index's entry for file `name` (length, then SHA-256),
    /// so that a truncated or stale download is named as such before it is parsed.
    pub fn check(&self, name: &str, bytes: &[u8]) -> Result<()> {
        let f = self
            .splits
            .iter()
            .flat_map(|s| [&s.images_file, &s.labels_file])
            .find(|f| f.name == name)
            .ok_or_else(|| Error::Dataset(format!("{INDEX_FILE} does not list {name}")))?;
        if bytes.len() as u64 != f.bytes {
            return Err(Error::Dataset(format!(
                "{name}: {} bytes, the index says {} (a truncated or stale download?)",
                bytes.len(),
                f.bytes
            )));
        }
        let got = sha256_hex(bytes);
        if got != f.sha256 {
            return Err(Error::Dataset(format!(
                "{name}: SHA-256 {got} differs from the index's {} (a corrupt or stale download?)",
                f.sha256
            )));
        }
        Ok(())
    }
}

impl WebIndex {
    /// A split from its fetched files: both [`WebIndex::check`]ed, then parsed, and the count
    /// compared with the index's.
    pub fn load_split(&self, split: Split, images: &[u8], labels: &[u8]) -> Result<FashionMnist> {
        let s = self.split(split)?;
        self.check(&s.images_file.name, images)?;
        self.check(&s.labels_file.name, labels)?;
        let ds = FashionMnist::from_gz_bytes(split, images, labels)?;
        if ds.len() != s.images {
            return Err(Error::Dataset(format!(
                "{}: {} images, the index says {}",
                s.images_file.name,
                ds.len(),
                s.images
            )));
        }
        Ok(ds)
    }
}

impl FashionMnist {
    /// A split from the bytes of its images and labels files (gzip or raw IDX), named as the
    /// standard files in messages.
    pub fn from_gz_bytes(split: Split, images: &[u8], labels: &[u8]) -> Result<Self> {
        Self::from_bytes(
            split,
            images,
            &format!("{}.gz", split.images_file()),
            labels,
            &format!("{}.gz", split.labels_file()),
        )
    }

    /// The first `n` items (all of them when `n >= len()`).
    pub fn first(&self, n: usize) -> Self {
        let n = n.min(self.len());
        Self {
            images: self.images[..n * self.rows * self.cols].to_vec(),
            labels: self.labels[..n].to_vec(),
            ..self.clone()
        }
    }
}

/// gzip at the best level, with a fixed header (no name, mtime 0), so the same input always gives
/// the same bytes.
pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::GzBuilder::new()
        .mtime(0)
        .write(Vec::new(), flate2::Compression::best());
    e.write_all(bytes).expect("writing to a Vec");
    e.finish().expect("writing to a Vec")
}

/// What [`build`] makes: the index and every file of the folder.
#[derive(Clone, Debug, PartialEq)]
pub struct WebSubset {
    pub index: WebIndex,
    /// (name, bytes): the four gzip IDX files, `index.json` and `README.md`.
    pub files: Vec<(String, Vec<u8>)>,
}

/// The subset's files from the full splits `train` and `test`: their first `n_train` and
/// `n_test` items.
pub fn build(
    train: &FashionMnist,
    test: &FashionMnist,
    n_train: usize,
    n_test: usize,
    source: &str,
) -> Result<WebSubset> {
    let mut files = Vec::new();
    let mut splits = Vec::new();
    for (full, n) in [(train, n_train), (test, n_test)] {
        if n == 0 || n > full.len() {
            return Err(Error::Dataset(format!(
                "the {} split has {} images; cannot take the first {n}",
                full.split.as_str(),
                full.len()
            )));
        }
        let part = full.first(n);
        let images = gzip(&encode_idx_images(&part.images, n, part.rows, part.cols));
        let labels = gzip(&encode_idx_labels(&part.labels));
        let entry = |name: String, b: &[u8]| WebFile {
            name,
            bytes: b.len() as u64,
            sha256: sha256_hex(b),
        };
        let (iname, lname) = (
            format!("{}.gz", full.split.images_file()),
            format!("{}.gz", full.split.labels_file()),
        );
        splits.push(WebSplit {
            split: full.split.as_str().into(),
            images: n,
            taken: format!(
                "the first {n} of {} ({} images)",
                full.split.images_file(),
                full.len()
            ),
            images_file: entry(iname.clone(), &images),
            labels_file: entry(lname.clone(), &labels),
        });
        files.push((iname, images));
        files.push((lname, labels));
    }
    let index = WebIndex {
        dataset: "Fashion-MNIST (subset)".into(),
        size: [train.rows, train.cols],
        channels: 1,
        classes: train.class_names.clone(),
        splits,
        licence: LICENCE.into(),
        source: source.into(),
    };
    let mut json = serde_json::to_vec_pretty(&index)
        .map_err(|e| Error::Dataset(format!("writing {INDEX_FILE}: {e}")))?;
    json.push(b'\n');
    files.push((INDEX_FILE.into(), json));
    files.push(("README.md".into(), readme(&index).into_bytes()));
    Ok(WebSubset { index, files })
}

fn readme(ix: &WebIndex) -> String {
    let rows: String = ix
        .splits
        .iter()
        .flat_map(|s| {
            [&s.images_file, &s.labels_file].map(|f| {
                format!(
                    "| `{}` | {} | {} | `{}` |\n",
                    f.name, s.split, f.bytes, f.sha256
                )
            })
        })
        .collect();
    let taken: String = ix
        .splits
        .iter()
        .map(|s| format!("- {}: {}\n", s.split, s.taken))
        .collect();
    format!(
        "# Fashion-MNIST subset for the page\n\n\
         The Train view fetches these files only when Fashion-MNIST is chosen. They are the \
         standard gzip IDX files, cut short by a fixed rule (no selection, no shuffling):\n\n\
         {taken}\n\
         So the held-out figures the page shows are on the first {test} images of the official \
         test set (`t10k`), never trained on. `whitebox train --data web/datasets/fashion-mnist` \
         trains on exactly this subset.\n\n\
         Made by `whitebox dataset fmnist-web --out web/datasets/fashion-mnist` from {source}; \
         the same command on the same package gives the same bytes.\n\n\
         | file | split | bytes | SHA-256 |\n|---|---|---|---|\n{rows}\n\
         ## Licence\n\n{licence}\n\n\
         Full text: <https://github.com/zalandoresearch/fashion-mnist/blob/master/LICENSE>.\n",
        test = ix.splits.last().map_or(0, |s| s.images),
        source = ix.source,
        licence = ix.licence,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiny(split: Split, n: usize) -> FashionMnist {
        let px: Vec<u8> = (0..n * 784).map(|i| (i * 7 % 256) as u8).collect();
        let lb: Vec<u8> = (0..n).map(|i| (i % 10) as u8).collect();
        FashionMnist::from_bytes(
            split,
            &encode_idx_images(&px, n, 28, 28),
            "i",
            &encode_idx_labels(&lb),
            "l",
        )
        .unwrap()
    }

    #[test]
    fn build_round_trips_and_checks() {
        let (tr, te) = (tiny(Split::Train, 12), tiny(Split::Test, 6));
        let WebSubset { index: ix, files } = build(&tr, &te, 5, 3, "test").unwrap();
        let get = |n: &str| &files.iter().find(|f| f.0 == n).unwrap().1;
        let again = WebIndex::from_json(get(INDEX_FILE)).unwrap();
        assert_eq!(again, ix);
        let a = FashionMnist::from_gz_bytes(
            Split::Train,
            get("train-images-idx3-ubyte.gz"),
            get("train-labels-idx1-ubyte.gz"),
        )
        .unwrap();
        assert_eq!(a, tr.first(5));
        for (name, bytes) in &files[..4] {
            ix.check(name, bytes).unwrap();
            let e = ix.check(name, &bytes[1..]).unwrap_err().to_string();
            assert!(e.contains("truncated or stale"), "{e}");
            let mut bad = bytes.clone();
            bad[20] ^= 1;
            let e = ix.check(name, &bad).unwrap_err().to_string();
            assert!(e.contains("SHA-256"), "{e}");
        }
        assert_eq!(
            build(&tr, &te, 5, 3, "test").unwrap().files,
            files,
            "deterministic"
        );
        assert!(build(&tr, &te, 13, 3, "x").is_err());
        assert!(ix.check("other.gz", b"").is_err());
        assert!(WebIndex::from_json(b"{}").is_err());
    }
}
