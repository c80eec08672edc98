//! Own images: a labelled dataset from a user's files, one sub-folder per class, as a dropped
//! folder, the entries of a .zip ([`zip_files`]) or, natively, a directory ([`read_path`]).
//!
//! Everything here takes bytes (no file system), so the page's worker and `whitebox train
//! --dataset folder` build the very same dataset from the same files:
//!
//! - class names are the sub-folder names, sorted (a folder that wraps all the class folders,
//!   as a zipped or dropped folder has, is looked through);
//! - images are decoded with the hardened decoder ([`decode_image`]) and fitted to the model's
//!   input size and channels ([`fit_to_u8`], the same pixels inference prepares);
//! - a file that cannot be used (not an image, corrupt, too large, outside a class folder,
//!   hidden) is skipped and listed with the reason, never fatal; no usable image, or fewer than
//!   two classes, is an error that says why;
//! - files picked per class (no folders) are given as `CLASS/NAME`;
//! - the split is stratified and seeded: each class holds out the same fraction, and the same
//!   files and seed give the same split whatever order the files came in.

mod files;
mod split;

use serde::Serialize;

use crate::budget::Budget;
use crate::data::batch::ImageDataset;
use crate::data::image::{decode_image, fit_to_u8, DecodeLimits, Resize};
use crate::data::image_u8::ImageU8;
use crate::error::{Error, Result};
use crate::model::CrateConfig;

#[cfg(not(target_arch = "wasm32"))]
pub use files::{read_path, read_path_with};
pub use files::{zip_files, zip_files_with, OwnFiles, OwnLimits};

/// The share of each class held out for testing when nothing else is asked (Teachable
/// Machine's 85/15).
pub const DEFAULT_HOLDOUT: f32 = 0.15;

/// How files become model inputs: the model's input size and channels, and how an image of
/// another size is brought to it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct InputFit {
    /// Target (h, w) in pixels.
    pub image: [usize; 2],
    /// 1 (grey, ITU-R 601 luma) or 3 (RGB).
    pub channels: usize,
    /// [`Resize::Imagenet`] (the default: shorter side scaled, centre crop, as inference on an
    /// uploaded image does) or [`Resize::Stretch`]; [`Resize::None`] accepts only images of
    /// exactly the target size.
    #[serde(skip)]
    pub resize: Resize,
}

impl InputFit {
    /// The input `cfg` takes, fitted the way the page and `whitebox forward` fit an image.
    pub fn for_model(cfg: &CrateConfig) -> Result<Self> {
        if cfg.channels != 1 && cfg.channels != 3 {
            return Err(Error::Dataset(format!(
                "own images can feed models with 1 (grey) or 3 (RGB) channels, not {}",
                cfg.channels
            )));
        }
        Ok(Self {
            image: cfg.image,
            channels: cfg.channels,
            resize: Resize::Imagenet,
        })
    }
}

/// A file that was not used, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Skipped {
    /// The path as given (a .zip entry's name, or the path relative to the dropped folder).
    pub path: String,
    pub reason: String,
}

impl Skipped {
    pub fn new(path: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            reason: reason.into(),
        }
    }
}

/// Labelled images fitted to one model's input, in memory.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct OwnImages {
    images: Vec<ImageU8>,
    labels: Vec<usize>,
    paths: Vec<String>,
    classes: Vec<String>,
}

/// A built dataset: the training and held-out halves, the classes (sorted; label `i` is
/// `classes[i]`), and every file that was skipped.
#[derive(Clone, Debug, PartialEq)]
pub struct OwnSplit {
    pub train: OwnImages,
    pub test: OwnImages,
    pub classes: Vec<String>,
    pub skipped: Vec<Skipped>,
}

impl OwnImages {
    /// Builds the dataset from `files` = (path relative to the dropped folder or the .zip's
    /// root, bytes), holding out `holdout` (0 ≤ holdout < 1; e.g. [`DEFAULT_HOLDOUT`]) of each
    /// class for testing, chosen with `seed`. Each class with at least two images keeps at
    /// least one for training and, when `holdout > 0`, holds at least one out.
    pub fn from_files(
        files: Vec<(String, Vec<u8>)>,
        fit: &InputFit,
        holdout: f32,
        seed: u64,
    ) -> Result<OwnSplit> {
        Self::from_files_with(files, fit, holdout, seed, &OwnLimits::default())
    }

    /// [`OwnImages::from_files`] under other bounds.
    pub fn from_files_with(
        files: Vec<(String, Vec<u8>)>,
        fit: &InputFit,
        holdout: f32,
        seed: u64,
        lim: &OwnLimits,
    ) -> Result<OwnSplit> {
        if !holdout.is_finite() || !(0.0..1.0).contains(&holdout) {
            return Err(Error::Dataset(format!(
                "the held-out share must be at least 0 and below 1, not {holdout}"
            )));
        }
        if fit.channels != 1 && fit.channels != 3 {
            return Err(Error::Dataset(format!(
                "own images can be fitted to 1 or 3 channels, not {}",
                fit.channels
            )));
        }
        let given = files.len();
        if given as u64 > lim.files {
            return Err(lim.too_many(given as u64, "the dataset"));
        }
        let (entries, mut skipped) = files::classify(files);
        let mut budget = Budget::new("own images", "fitting", lim.pixels);
        let mut found: Vec<(String, String, ImageU8)> = Vec::with_capacity(entries.len());
        for e in entries {
            match fit_one(&e.path, &e.bytes, fit, lim) {
                Ok(img) => {
                    budget.charge(
                        format!("{} fitted images", found.len() + 1),
                        img.pixels.len() as u64,
                    )?;
                    found.push((e.class, e.path, img));
                }
                Err(reason) => skipped.push(Skipped::new(e.path, reason)),
            }
        }
        if found.is_empty() {
            let why: Vec<String> = skipped
                .iter()
                .take(3)
                .map(|s| format!("{}: {}", s.path, s.reason))
                .collect();
            return Err(Error::Dataset(format!(
                "no usable image among {given} file(s){}; put the images in one sub-folder per \
                 class ({})",
                if why.is_empty() {
                    String::new()
                } else {
                    format!(
                        " ({}{})",
                        why.join("; "),
                        if skipped.len() > 3 { "; …" } else { "" }
                    )
                },
                crate::data::image::SUPPORTED_FORMATS
            )));
        }
        let mut classes: Vec<String> = found.iter().map(|(c, _, _)| c.clone()).collect();
        classes.sort();
        classes.dedup();
        if classes.len() < 2 {
            return Err(Error::Dataset(format!(
                "{} usable image(s), all in the class `{}`: a classifier needs at least two \
                 classes (one sub-folder per class)",
                found.len(),
                classes[0]
            )));
        }
        let mut all = OwnImages {
            classes: classes.clone(),
            ..Default::default()
        };
        for (class, path, img) in found {
            let label = classes.binary_search(&class).expect("class listed above");
            all.images.push(img);
            all.labels.push(label);
            all.paths.push(path);
        }
        let (train, test) = split::stratified(&all.labels, classes.len(), holdout, seed);
        Ok(OwnSplit {
            train: all.subset(&train),
            test: all.subset(&test),
            classes,
            skipped,
        })
    }

    /// [`zip_files`] then [`OwnImages::from_files`]; the entries the .zip reader skipped are
    /// listed first.
    pub fn from_zip(bytes: &[u8], fit: &InputFit, holdout: f32, seed: u64) -> Result<OwnSplit> {
        let z = zip_files(bytes)?;
        let mut split = Self::from_files(z.files, fit, holdout, seed)?;
        let mut skipped = z.skipped;
        skipped.append(&mut split.skipped);
        split.skipped = skipped;
        Ok(split)
    }

    fn subset(&self, idx: &[usize]) -> Self {
        Self {
            images: idx.iter().map(|&i| self.images[i].clone()).collect(),
            labels: idx.iter().map(|&i| self.labels[i]).collect(),
            paths: idx.iter().map(|&i| self.paths[i].clone()).collect(),
            classes: self.classes.clone(),
        }
    }

    /// The path of item `i` (as given, so that the page can show which file it was).
    pub fn path(&self, i: usize) -> &str {
        &self.paths[i]
    }

    /// How many items each class has.
    pub fn class_counts(&self) -> Vec<usize> {
        let mut n = vec![0; self.classes.len()];
        for &l in &self.labels {
            n[l] += 1;
        }
        n
    }
}

impl ImageDataset for OwnImages {
    fn len(&self) -> usize {
        self.images.len()
    }
    fn image(&self, i: usize) -> ImageU8 {
        self.images[i].clone()
    }
    fn label(&self, i: usize) -> usize {
        self.labels[i]
    }
    fn class_names(&self) -> Vec<String> {
        self.classes.clone()
    }
}

/// One file decoded and fitted, or the reason it cannot be used (without the path in front:
/// the caller lists it beside the path).
fn fit_one(
    path: &str,
    bytes: &[u8],
    fit: &InputFit,
    lim: &OwnLimits,
) -> std::result::Result<ImageU8, String> {
    let limits = DecodeLimits {
        max_file_bytes: lim.file_bytes,
        ..DecodeLimits::default()
    };
    if bytes.len() as u64 > limits.max_file_bytes {
        return Err(lim.too_big());
    }
    let strip = |e: Error| {
        let s = e.to_string();
        let s = s.strip_prefix("image: ").unwrap_or(&s).to_string();
        s.strip_prefix(&format!("{path}: "))
            .map(str::to_string)
            .unwrap_or(s)
    };
    let img = decode_image(bytes, path, &limits).map_err(strip)?;
    let out = fit_to_u8(&img, fit.channels, fit.image, fit.resize).map_err(strip)?;
    if [out.height, out.width] != fit.image {
        return Err(format!(
            "is {}x{}, the model takes {}x{} (width x height) and no resizing was asked for",
            out.width, out.height, fit.image[1], fit.image[0]
        ));
    }
    Ok(out)
}
