//! `whitebox train`'s dataset options beyond the built-in sets: the subspace mixture's knobs and
//! own images (`--dataset folder`).

use std::path::Path;

use anyhow::Context;

use crate::data::own::{read_path, InputFit, OwnImages, OwnSplit, DEFAULT_HOLDOUT};
use crate::data::synthetic::{Fill, ShapesConfig, SubspaceConfig};
use crate::data::ImageDataset;
use crate::model::CrateConfig;

/// `--object-scale MIN,MAX`: the shapes' radius range as fractions of half the image side.
pub fn object_scale(s: &str) -> Result<[f32; 2], String> {
    let parts: Vec<&str> = s.split(',').collect();
    let bad = || format!("`{s}`: give MIN,MAX with 0 < MIN <= MAX <= 1, e.g. 0.5,0.9");
    let [a, b] = parts.as_slice() else {
        return Err(bad());
    };
    let (a, b): (f32, f32) = (
        a.trim().parse().map_err(|_| bad())?,
        b.trim().parse().map_err(|_| bad())?,
    );
    if a > 0.0 && a <= b && b <= 1.0 {
        Ok([a, b])
    } else {
        Err(bad())
    }
}

/// The shapes' knobs (`train --dataset shapes`, `segment --dataset shapes`, `dataset shapes`:
/// give the same to all three).
#[derive(clap::Args, Clone, Copy, Debug, Default)]
pub struct ShapesArgs {
    /// Shapes: the objects' radius range MIN,MAX as fractions of half the image side
    /// [default: 0.3,0.6].
    #[arg(long, value_parser = object_scale)]
    pub object_scale: Option<[f32; 2]>,
    /// Shapes: what fills the objects [default: flat].
    #[arg(long, value_enum)]
    pub object_fill: Option<FillArg>,
}

/// `--object-fill`.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum FillArg {
    /// One flat colour: the class is only in the outline.
    Flat,
    /// A pattern of the class's own kind (circle: stripes, square: checker, triangle: noise,
    /// cross: dots, ring: grid lines): the class is in the surface too.
    Class,
    /// The class is the surface alone (dots, grid, speckle, blobs, rings; none is a background
    /// texture) on a shape drawn at random: labels name the pattern.
    Surface,
    /// The class is the surface alone, in patterns that repeat every 4 or 8 pixels along the
    /// image's axes (dots, grid, blobs, crosses, frames), so every patch inside the object
    /// shows the same piece: labels name the pattern.
    Tiled,
}

impl ShapesArgs {
    /// Whether any option was given.
    pub fn any(&self) -> bool {
        self.object_scale.is_some() || self.object_fill.is_some()
    }

    /// `base` with these options applied.
    pub fn apply(&self, base: ShapesConfig) -> ShapesConfig {
        let fill = match self.object_fill {
            Some(FillArg::Class) => Fill::Class,
            Some(FillArg::Surface) => Fill::Surface,
            Some(FillArg::Tiled) => Fill::Tiled,
            Some(FillArg::Flat) | None => Fill::Flat,
        };
        base.with_scale(self.object_scale).with_fill(fill)
    }
}

/// The subspace mixture's knobs (`--dataset subspaces` only).
#[derive(clap::Args, Debug, Default)]
pub struct SubspaceArgs {
    /// --dataset subspaces: number of subspaces K, the classes (2 to 32) [default: 4].
    #[arg(long, value_parser = super::validate::subspaces)]
    pub subspaces: Option<usize>,
    /// --dataset subspaces: dimension p of each subspace of R^32 (1 to 32) [default: 4].
    #[arg(long, value_parser = super::validate::subspace_dim)]
    pub subspace_dim: Option<usize>,
    /// --dataset subspaces: noise σ per coordinate (0 to 10) [default: 0.05].
    #[arg(long, value_parser = super::validate::noise)]
    pub noise: Option<f32>,
    /// --dataset subspaces: tokens per sample (1 to 256) [default: 16].
    #[arg(long, value_parser = super::validate::tokens)]
    pub tokens: Option<usize>,
}

impl SubspaceArgs {
    /// Whether any knob was given (they apply to `--dataset subspaces` only).
    pub fn any(&self) -> bool {
        self.subspaces.is_some()
            || self.subspace_dim.is_some()
            || self.noise.is_some()
            || self.tokens.is_some()
    }

    /// [`SubspaceConfig::training`] with the knobs given.
    pub fn config(&self, seed: u64) -> SubspaceConfig {
        let d = SubspaceConfig::training(seed);
        SubspaceConfig {
            subspaces: self.subspaces.unwrap_or(d.subspaces),
            sub_dim: self.subspace_dim.unwrap_or(d.sub_dim),
            noise: self.noise.unwrap_or(d.noise),
            tokens_per_sample: self.tokens.unwrap_or(d.tokens_per_sample),
            ..d
        }
    }
}

/// Own images from a directory or a .zip, fitted to `preset`'s input, split 85/15 with `seed`;
/// the skipped files are printed (all of them: the user wants to know which).
pub fn own_images(path: &Path, preset: &CrateConfig, seed: u64) -> anyhow::Result<OwnSplit> {
    let files = read_path(path).with_context(|| format!("reading {}", path.display()))?;
    let fit = InputFit::for_model(preset)?;
    let mut split = OwnImages::from_files(files.files, &fit, DEFAULT_HOLDOUT, seed)
        .with_context(|| format!("building a dataset from {}", path.display()))?;
    let mut skipped = files.skipped;
    skipped.append(&mut split.skipped);
    split.skipped = skipped;
    for s in &split.skipped {
        eprintln!("skipped {}: {}", s.path, s.reason);
    }
    let counts = |d: &OwnImages| {
        d.class_counts()
            .iter()
            .map(|n| n.to_string())
            .collect::<Vec<_>>()
            .join("/")
    };
    eprintln!(
        "{}: {} classes ({}), {} training and {} held-out images (per class {} and {}), {} skipped, \
         fitted to {}x{}x{}",
        path.display(),
        split.classes.len(),
        split.classes.join(", "),
        split.train.len(),
        split.test.len(),
        counts(&split.train),
        counts(&split.test),
        split.skipped.len(),
        fit.image[1],
        fit.image[0],
        fit.channels
    );
    Ok(split)
}
